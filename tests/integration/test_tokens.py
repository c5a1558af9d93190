"""API tokens through the API and the CLI: shown once, stored hashed, listed, revoked at once;
each user manages their own, admins anyone's. And the abuse limits."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid

from sqlalchemy import select

from api import create_app
from models import ApiToken, AuditEvent
from tests.conftest import ROOT
from tests.support.auth import user_with_token


def test_a_user_creates_lists_and_revokes_their_own_token(client, session_factory):
    _agent, token = user_with_token("agent")
    created = client.post("/api/v1/tokens", json={"name": "my script", "expires_days": 7}, as_token=token)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    secret = body["token"]
    assert secret.startswith("cre_") and len(secret) >= 40 and body["active"] is True and body["expires_at"]

    # Only the hash is stored; the list never shows the token again.
    with session_factory() as session:
        row = session.get(ApiToken, uuid.UUID(body["token_id"]))
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in str(session.execute(select(ApiToken.__table__)).all())
    listed = client.get("/api/v1/tokens", as_token=token).get_json()
    assert {t["name"] for t in listed} == {"my script", "test agent"}
    assert all("token" not in t and "token_hash" not in t for t in listed)

    assert client.get("/api/v1/me", as_token=secret).status_code == 200
    me_listed = client.get("/api/v1/tokens", as_token=secret).get_json()
    assert next(t for t in me_listed if t["token_id"] == body["token_id"])["last_used_at"] is not None

    assert client.delete(f"/api/v1/tokens/{body['token_id']}", as_token=token).status_code == 204
    refused = client.get("/api/v1/me", as_token=secret)
    assert refused.status_code == 401 and "revoked" in refused.get_json()["message"]
    assert client.delete(f"/api/v1/tokens/{body['token_id']}", as_token=token).status_code == 204  # idempotent
    with session_factory() as session:
        actions = [e.event_data["action"] for e in session.scalars(select(AuditEvent).where(AuditEvent.event_type == "admin").order_by(AuditEvent.id))]
    assert actions == ["token_created", "token_revoked"]


def test_users_cannot_touch_other_users_tokens_but_admins_can(client):
    agent, agent_token = user_with_token("agent")
    _other, other_token = user_with_token("agent")
    other_id = client.get("/api/v1/tokens", as_token=other_token).get_json()[0]["token_id"]

    assert client.get(f"/api/v1/tokens?user_id={agent.id}", as_token=other_token).status_code == 403
    assert client.get("/api/v1/tokens?all_users=true", as_token=agent_token).status_code == 403
    assert client.post("/api/v1/tokens", json={"user_id": str(agent.id)}, as_token=other_token).status_code == 403
    assert client.delete(f"/api/v1/tokens/{other_id}", as_token=agent_token).status_code == 404
    assert client.get("/api/v1/me", as_token=other_token).status_code == 200

    # An admin (the default test client) lists, creates and revokes anyone's.
    assert len(client.get(f"/api/v1/tokens?user_id={agent.id}").get_json()) == 1
    for_agent = client.post("/api/v1/tokens", json={"user_id": str(agent.id), "name": "for the agent"})
    assert for_agent.status_code == 201 and for_agent.get_json()["user_id"] == str(agent.id)
    assert client.get("/api/v1/me", as_token=for_agent.get_json()["token"]).get_json()["user_id"] == str(agent.id)
    assert client.delete(f"/api/v1/tokens/{other_id}").status_code == 204
    assert client.get("/api/v1/me", as_token=other_token).status_code == 401


def test_bad_token_requests_are_422(client):
    for body in ({"expires_days": 0}, {"expires_days": 100000}, {"name": ""}, {"name": "x" * 101}, {"user_id": "nope"}, {"colour": "red"}):
        response = client.post("/api/v1/tokens", json=body)
        assert response.status_code == 422, body
    assert client.delete("/api/v1/tokens/not-a-uuid").status_code == 422
    assert client.delete(f"/api/v1/tokens/{uuid.uuid4()}").status_code == 404


def _flask(*args, env=None):
    return subprocess.run([sys.executable, "-m", "flask", "--app", "api", *args], cwd=ROOT, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=60)


def test_the_cli_creates_lists_and_revokes_tokens(client):
    created = _flask("users", "create", "--email", "Script.Bot@Lender.example", "--role", "operator")
    assert created.returncode == 0, created.stderr
    made = _flask("tokens", "create", "--user", "script.bot@lender.example", "--name", "nightly", "--expires-days", "30")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("cre_") and made.stdout.count(token) == 1  # alone on the last line, once
    me = client.get("/api/v1/me", as_token=token).get_json()
    assert me["email"] == "script.bot@lender.example" and me["role"] == "operator"

    listed = _flask("tokens", "list", "--user", "script.bot@lender.example")
    assert listed.returncode == 0 and "nightly" in listed.stdout and token not in listed.stdout
    token_id = listed.stdout.split()[0]
    assert _flask("tokens", "revoke", token_id).returncode == 0
    assert client.get("/api/v1/me", as_token=token).status_code == 401

    assert _flask("tokens", "create", "--user", "nobody@lender.example").returncode == 2
    assert _flask("tokens", "revoke", "not-an-id").returncode == 2
    assert _flask("users", "create", "--email", "x@lender.example", "--role", "king").returncode == 2


def test_requests_per_identity_are_limited_with_retry_after(settings, clean_db, redis_client):
    app = create_app(settings.replace(rate_limit_per_identity="3 per minute"))
    client = app.test_client()
    _agent, token = user_with_token("agent")
    _other, other_token = user_with_token("agent")
    statuses = [client.get("/api/v1/me", as_token=token).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get("/api/v1/me", as_token=token)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert limited.get_json()["code"] == "too_many_requests"
    # Another user is not slowed down by the first one, and the probes never are.
    assert client.get("/api/v1/me", as_token=other_token).status_code == 200
    assert all(client.get("/health", anonymous=True).status_code == 200 for _ in range(5))


def test_failed_sign_ins_are_limited_per_address(settings, clean_db, redis_client):
    app = create_app(settings.replace(rate_limit_sign_in_failures="3 per minute"))
    client = app.test_client()
    _agent, token = user_with_token("agent")
    statuses = [client.get("/api/v1/me", headers={"Authorization": f"Bearer cre_guess{n}"}).status_code for n in range(4)]
    assert statuses == [401, 401, 401, 429]
    blocked = client.get("/api/v1/me", as_token=token)  # even a good token, from this address, waits
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    other_address = client.get("/api/v1/me", as_token=token, environ_base={"REMOTE_ADDR": "127.0.0.9"})
    assert other_address.status_code == 200
