"""Single sign-on through the API: tokens from a real OpenID provider on loopback (fetched over
HTTP from oidc-provider-mock) sign users in; bad ones are 401 with a Bearer challenge; key
rotation needs no restart."""

from __future__ import annotations

import time

import jwt
import pytest
from sqlalchemy import select

from api import create_app
from models import AuditEvent, User
from pipeline.identity import oidc
from tests.support.oidc_provider import LoopbackProvider, id_token_from, running_mock_provider

AUDIENCE = "api://refunds"


@pytest.fixture(scope="module")
def mock_provider():
    with running_mock_provider() as base:
        yield base


@pytest.fixture
def sso_client(settings, clean_db, redis_client, mock_provider):
    oidc.reset_verifiers()
    app = create_app(settings.replace(oidc_issuer=mock_provider, oidc_audience=(AUDIENCE,), oidc_roles_claim=""))
    yield app.test_client()
    oidc.reset_verifiers()


def test_a_registered_user_signs_in_with_a_provider_token(sso_client, mock_provider, session_factory):
    created = sso_client.post("/api/v1/admin/users", json={"email": "alice@lender.example", "username": "alice", "role": "agent"})
    assert created.status_code == 201
    token = id_token_from(mock_provider, client_id=AUDIENCE, sub="alice-sub", claims={"email": "Alice@Lender.example", "email_verified": True})

    me = sso_client.get("/api/v1/me", as_token=token)
    assert me.status_code == 200, me.get_json()
    assert me.get_json()["email"] == "alice@lender.example" and me.get_json()["role"] == "agent"
    assert me.get_json()["signed_in_with"] == "oidc"
    # An agent may search; an agent may not manage users.
    assert sso_client.post("/api/v1/contracts/search", json={"account_number": "4350948342"}, as_token=token).status_code == 404
    assert sso_client.get("/api/v1/admin/users", as_token=token).status_code == 403

    with session_factory() as session:
        user = session.scalars(select(User).where(User.email == "alice@lender.example")).one()
        assert (user.auth_provider, user.auth_provider_user_id) == (mock_provider, "alice-sub")
        linked = [e for e in session.scalars(select(AuditEvent).where(AuditEvent.event_type == "admin")) if "link" in str(e.event_data)]
        assert linked


def test_an_unknown_identity_is_403_and_bad_tokens_are_401(sso_client, mock_provider):
    stranger = id_token_from(mock_provider, client_id=AUDIENCE, sub="mallory", claims={"email": "mallory@elsewhere.example", "email_verified": True})
    refused = sso_client.get("/api/v1/me", as_token=stranger)
    assert refused.status_code == 403 and refused.get_json()["code"] == "not_authorized"

    other_audience = id_token_from(mock_provider, client_id="another-app", sub="mallory", claims={})
    response = sso_client.get("/api/v1/me", as_token=other_audience)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="Contract Refund Eligibility", error="invalid_token"')
    assert "audience" in response.get_json()["message"]

    forged = jwt.encode({"iss": mock_provider, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 60}, key=None, algorithm="none")
    assert sso_client.get("/api/v1/me", as_token=forged).status_code == 401


def test_a_rotated_key_is_accepted_without_a_restart(settings, clean_db, redis_client, session_factory):
    with LoopbackProvider(audience=AUDIENCE) as idp:
        oidc.reset_verifiers()
        app = create_app(settings.replace(oidc_issuer=idp.issuer, oidc_audience=(AUDIENCE,), oidc_jwks_min_refresh_seconds=0))
        client = app.test_client()
        assert client.post("/api/v1/admin/users", json={"email": "bo@lender.example", "username": "bo-lender", "role": "auditor"}).status_code == 201
        claims = {"sub": "bo-sub", "email": "bo@lender.example", "email_verified": True}
        assert client.get("/api/v1/me", as_token=idp.token(**claims)).status_code == 200

        new_key = idp.add_key(publish=False)
        signed_with_new = idp.token(new_key, **claims)
        assert client.get("/api/v1/me", as_token=signed_with_new).status_code == 401  # not published yet
        idp.published.append(new_key)
        assert client.get("/api/v1/me", as_token=signed_with_new).status_code == 200  # published: accepted
    oidc.reset_verifiers()
