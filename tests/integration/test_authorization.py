"""Who may call what: every operation in the OpenAPI document, for anonymous callers, each role and
a revoked token; and every route of the app declares its roles (deny by default)."""

from __future__ import annotations

import re
import uuid

import pytest

from api.auth import PUBLIC_ENDPOINTS, declared_roles
from pipeline.identity.roles import ROLES
from tests.support.auth import user_with_token

METHODS = ("get", "post", "put", "patch", "delete")
# Bodies that get past the sign-in check; their validity does not matter (4xx other than 401/403).
BODY = {}


@pytest.fixture
def identities(app):
    tokens = {role: user_with_token(role)[1] for role in ROLES}
    _user, revoked = user_with_token("agent")
    client = app.test_client()
    client.delete(f"/api/v1/tokens/{_token_id(client, revoked)}", as_token=revoked)
    return tokens, revoked


def _token_id(client, token):
    listed = client.get("/api/v1/tokens", as_token=token).get_json()
    return listed[0]["token_id"]


def _operations(client):
    spec = client.get("/openapi.json", anonymous=True).get_json()
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def _url(path):
    return re.sub(r"\{[^}]+\}", lambda _m: str(uuid.uuid4()), path)


def _call(client, method, path, **kwargs):
    kwargs.setdefault("json", BODY) if method in ("post", "put", "patch") else None
    return getattr(client, method)(_url(path), **kwargs)


def test_every_operation_declares_its_roles_in_the_document(client):
    operations = list(_operations(client))
    assert len(operations) >= 20
    undeclared = [f"{m.upper()} {p}" for p, m, op in operations if "x-roles" not in op]
    assert undeclared == [], f"operations without declared roles: {undeclared}"
    for path, method, op in operations:
        if op["x-roles"]:
            assert op["security"] == [{"bearerAuth": []}], (method, path)
            assert "Roles: " in op["description"], (method, path)
        else:
            assert op["security"] == [], (method, path)


def test_the_document_declares_the_bearer_scheme(client):
    spec = client.get("/openapi.json", anonymous=True).get_json()
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": spec["components"]["securitySchemes"]["bearerAuth"]["description"],
    }


def test_every_route_of_the_app_declares_its_roles(app):
    """Routes outside the document too (the docs' assets): nothing is open by omission."""
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint in PUBLIC_ENDPOINTS:
                continue
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert declared_roles(rule.endpoint, method) is not None, f"{method} {rule.rule} declares no roles"


def test_each_caller_gets_what_its_role_allows(client, identities):
    tokens, revoked = identities
    results = []
    for path, method, op in _operations(client):
        allowed = op["x-roles"]
        anonymous = _call(client, method, path, anonymous=True)
        if allowed:
            results.append((method, path, "anonymous", anonymous.status_code, 401))
            assert anonymous.headers.get("WWW-Authenticate", "").startswith("Bearer"), (method, path)
            results.append((method, path, "revoked", _call(client, method, path, as_token=revoked).status_code, 401))
        else:
            results.append((method, path, "anonymous", anonymous.status_code, "not 401/403"))
        for role, token in tokens.items():
            status = _call(client, method, path, as_token=token).status_code
            expected = "not 401/403" if (not allowed or role in allowed) else 403
            results.append((method, path, role, status, expected))
    wrong = [r for r in results if (r[4] == "not 401/403" and r[3] in (401, 403)) or (r[4] != "not 401/403" and r[3] != r[4])]
    assert wrong == [], "\n".join(f"{m.upper()} {p} as {who}: {got}, expected {exp}" for m, p, who, got, exp in wrong)
    # Server errors are never the answer to a caller who is refused or merely gave a random id.
    assert [r for r in results if r[3] >= 500] == []


def test_an_operation_without_roles_is_refused_to_everyone(app, client):
    """Deny by default: a view that forgets its declaration answers 403, even to an admin."""
    from flask import Blueprint

    extra = Blueprint("forgotten", __name__)

    @extra.route("/forgotten")
    def forgotten():
        return {"secret": True}

    app.register_blueprint(extra)
    assert client.get("/forgotten").status_code == 403
    assert client.get("/forgotten", anonymous=True).status_code == 401


def test_missing_malformed_and_unknown_credentials_are_401_with_a_challenge(client):
    response = client.post("/api/v1/contracts/search", json={"account_number": "4350948342"}, anonymous=True)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="Contract Refund Eligibility"'
    body = response.get_json()
    assert body["code"] == "unauthorized" and "Bearer" in body["message"] and body["request_id"]

    for header in ("Basic dXNlcjpwYXNz", "Bearer", "Bearer cre_not-a-real-token", "Bearer eyJhbGciOiJub25lIn0.e30."):
        response = client.post("/api/v1/contracts/search", json={"account_number": "4350948342"}, headers={"Authorization": header})
        assert response.status_code == 401, header
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"], header
        assert response.get_json()["code"] == "invalid_token"


def test_expired_token_and_inactive_or_deleted_user_are_401(client, session_factory):
    from datetime import datetime, timedelta, timezone

    from models import ApiToken, User
    from pipeline.identity.tokens import hash_token

    user, token = user_with_token("agent")
    assert client.get("/api/v1/me", as_token=token).status_code == 200
    with session_factory() as session, session.begin():
        session.query(ApiToken).filter_by(token_hash=hash_token(token)).update({"expires_at": datetime.now(timezone.utc) - timedelta(seconds=1)})
    response = client.get("/api/v1/me", as_token=token)
    assert response.status_code == 401 and "expired" in response.get_json()["message"]

    for change in ({"is_active": False}, {"deleted_at": datetime.now(timezone.utc)}):
        other, other_token = user_with_token("agent")
        assert client.get("/api/v1/me", as_token=other_token).status_code == 200
        with session_factory() as session, session.begin():
            session.query(User).filter_by(id=other.id).update(change)
        response = client.get("/api/v1/me", as_token=other_token)
        assert response.status_code == 401 and "inactive or deleted" in response.get_json()["message"]


def test_the_wrong_role_is_403_naming_the_roles_needed(client):
    _auditor, token = user_with_token("auditor")
    response = client.post("/api/v1/contracts/search", json={"account_number": "4350948342"}, as_token=token)
    assert response.status_code == 403
    body = response.get_json()
    assert body["code"] == "forbidden" and "auditor" in body["message"] and "agent" in body["message"]


def test_anonymous_admin_user_creation_is_refused(client, session_factory):
    """The finding that opened the issue: an anonymous POST /admin/users made an admin."""
    from sqlalchemy import func, select

    from models import User

    response = client.post("/api/v1/admin/users", json={"email": "intruder@example.com", "username": "intruder", "role": "admin"}, anonymous=True)
    assert response.status_code == 401
    _agent, token = user_with_token("agent")
    response = client.post("/api/v1/admin/users", json={"email": "intruder@example.com", "username": "intruder", "role": "admin"}, as_token=token)
    assert response.status_code == 403
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(User).where(User.email == "intruder@example.com")) == 0


def test_public_probes_and_docs_need_no_sign_in(client):
    assert client.get("/health", anonymous=True).status_code == 200
    assert client.get("/openapi.json", anonymous=True).status_code == 200
    assert client.get("/docs", anonymous=True).status_code == 200
    # A bad credential on a public probe is ignored, never a reason for it to fail.
    assert client.get("/health", headers={"Authorization": "Bearer nonsense"}).status_code == 200


def test_ready_shows_details_only_to_operators_and_admins(client):
    anonymous = client.get("/ready", anonymous=True).get_json()
    assert anonymous["status"] == "ready"
    assert all(set(check) == {"ok"} for check in anonymous["checks"].values())
    for role, detailed in (("agent", False), ("auditor", False), ("operator", True), ("admin", True)):
        _user, token = user_with_token(role)
        checks = client.get("/ready", as_token=token).get_json()["checks"]
        assert ("latency_ms" in checks["database"]) is detailed, role


def test_metrics_need_a_token_or_an_allowed_address(app, settings, client):
    from api import create_app

    assert client.get("/metrics", anonymous=True).status_code == 401
    _user, token = user_with_token("auditor")
    assert client.get("/metrics", as_token=token).status_code == 200
    allowed = create_app(settings.replace(metrics_allow_from=("127.0.0.0/8",))).test_client()
    assert allowed.get("/metrics", anonymous=True).status_code == 200
    elsewhere = create_app(settings.replace(metrics_allow_from=("10.0.0.0/8",))).test_client()
    assert elsewhere.get("/metrics", anonymous=True).status_code == 401


def test_production_refuses_to_start_with_no_way_to_sign_in(settings, clean_db, redis_client, monkeypatch):
    """APP_ENV=production with neither OIDC nor any API token: nobody could sign in; say so at start."""
    from api import create_app

    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)  # the CLI (how the first token is made) is exempt

    production = settings.replace(app_env="production")
    with pytest.raises(SystemExit) as stopped:
        create_app(production)
    assert stopped.value.code == 2
    user_with_token("admin")  # a token exists: the service starts
    assert create_app(production).test_client().get("/health", anonymous=True).status_code == 200
    assert create_app(production.replace(oidc_issuer="https://idp.lender.example", oidc_audience=("api://refunds",))) is not None
