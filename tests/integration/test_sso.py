"""Single sign-on identities mapped to users, against the real PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from types import MappingProxyType

import pytest
from sqlalchemy import func, select

from models import AuditEvent, User
from pipeline import users
from pipeline.core.settings import Settings
from pipeline.identity.errors import AccountDisabled, NotAuthorized
from pipeline.identity.oidc import OidcConfig, OidcIdentity, OidcVerifier
from pipeline.identity.sso import provider_key, resolve_user, role_from_claim
from tests.support.oidc_provider import LoopbackProvider

ISSUER = "https://lender.example.okta.com/oauth2/default"


def sso_settings(**env: str) -> Settings:
    return Settings.from_env({"OIDC_ISSUER": ISSUER, "OIDC_AUDIENCE": "api://refunds", **env})


def identity(sub: str = "okta-1", *, email: str | None = "alice@lender.example", verified: bool = True, roles: tuple[str, ...] = (), name: str | None = "Alice Doe", issuer: str = ISSUER) -> OidcIdentity:
    return OidcIdentity(
        issuer=issuer, subject=sub, email=email, email_verified=verified, name=name,
        preferred_username=None, roles=roles, claims=MappingProxyType({"sub": sub}),
    )


def add_user(session_factory, email: str = "alice@lender.example", username: str = "alice", **fields) -> User:
    with session_factory() as session:
        user = users.create(session=session, email=email, username=username, role=fields.pop("role", "agent"))
        for name, value in fields.items():
            setattr(user, name, value)
        session.commit()
        session.refresh(user)
        session.expunge(user)
        return user


def sign_in(session_factory, ident: OidcIdentity, settings: Settings | None = None) -> User:
    with session_factory() as session:
        user = resolve_user(session=session, identity=ident, settings=settings or sso_settings())
        session.commit()
        session.refresh(user)
        session.expunge(user)
        return user


def sso_events(session_factory) -> list[dict]:
    with session_factory() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "admin").order_by(AuditEvent.id))
        return [dict(e.event_data, event_user_id=str(e.user_id)) for e in rows if e.event_data.get("action", "").startswith("sso_")]


def user_count(session_factory) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(User))


def test_a_linked_identity_signs_in_by_its_subject(clean_db, session_factory):
    alice = add_user(session_factory, auth_provider=ISSUER, auth_provider_user_id="okta-1")
    # The e-mail at the provider changed; the link by subject still holds.
    user = sign_in(session_factory, identity(email="alice.doe@elsewhere.example"))
    assert user.id == alice.id
    assert user.last_login_at is not None and (datetime.now(timezone.utc) - user.last_login_at).total_seconds() < 60
    assert sso_events(session_factory) == []


def test_first_sign_in_links_the_registered_user_by_verified_email(clean_db, session_factory):
    alice = add_user(session_factory)
    user = sign_in(session_factory, identity(email="Alice@Lender.EXAMPLE"))
    assert user.id == alice.id
    assert (user.auth_provider, user.auth_provider_user_id) == (ISSUER, "okta-1")
    events = sso_events(session_factory)
    assert [e["action"] for e in events] == ["sso_linked"]
    assert events[0]["user_id"] == str(alice.id) == events[0]["event_user_id"]
    assert events[0]["subject"] == "okta-1"
    # From now on by subject: no second link event.
    assert sign_in(session_factory, identity()).id == alice.id
    assert len(sso_events(session_factory)) == 1


def test_an_unverified_email_links_nothing(clean_db, session_factory):
    add_user(session_factory)
    with pytest.raises(NotAuthorized) as caught:
        sign_in(session_factory, identity(verified=False))
    assert caught.value.status == 403 and caught.value.reason == "unknown_identity"
    # Not even with provisioning on: a new user needs an address the provider vouches for.
    with pytest.raises(NotAuthorized) as caught:
        sign_in(session_factory, identity(sub="okta-2", email="mallory@lender.example", verified=False), sso_settings(OIDC_AUTO_PROVISION_ROLE="agent"))
    assert caught.value.reason == "no_verified_email"
    with session_factory() as session:
        assert session.scalar(select(User.auth_provider).where(User.username == "alice")) is None
    assert user_count(session_factory) == 1


def test_an_unknown_identity_is_refused(clean_db, session_factory):
    with pytest.raises(NotAuthorized, match="ask an administrator") as caught:
        sign_in(session_factory, identity(email="stranger@lender.example"))
    assert caught.value.code == "not_authorized"
    assert user_count(session_factory) == 0


def test_an_email_linked_to_another_identity_is_not_relinked(clean_db, session_factory):
    add_user(session_factory, auth_provider=ISSUER, auth_provider_user_id="okta-old")
    with pytest.raises(NotAuthorized) as caught:
        sign_in(session_factory, identity(sub="okta-new"))
    assert caught.value.reason == "linked_elsewhere"


def test_auto_provisioning_creates_a_user_with_the_configured_role(clean_db, session_factory):
    add_user(session_factory, email="bob@elsewhere.example", username="bob")
    settings = sso_settings(OIDC_AUTO_PROVISION_ROLE="auditor")
    user = sign_in(session_factory, identity(sub="okta-bob", email="Bob@Lender.example", name="Bob Roe"), settings)
    assert (user.email, user.username, user.full_name, user.role) == ("bob@lender.example", "bob-2", "Bob Roe", "auditor")
    assert (user.auth_provider, user.auth_provider_user_id) == (ISSUER, "okta-bob")
    assert user.is_active and user.last_login_at is not None
    events = sso_events(session_factory)
    assert [(e["action"], e["role"], e["role_from"]) for e in events] == [("sso_provisioned", "auditor", "OIDC_AUTO_PROVISION_ROLE")]
    # Signing in again finds the same user.
    assert sign_in(session_factory, identity(sub="okta-bob", email="bob@lender.example"), settings).id == user.id
    assert user_count(session_factory) == 2


def test_the_roles_claim_sets_the_role(clean_db, session_factory):
    alice = add_user(session_factory, auth_provider=ISSUER, auth_provider_user_id="okta-1")
    settings = sso_settings(OIDC_ROLES_CLAIM="groups")
    # Without the setting the claim is ignored.
    assert sign_in(session_factory, identity(roles=("admin",))).role == "agent"
    # The most privileged app role named wins; other values are ignored.
    assert sign_in(session_factory, identity(roles=("Everyone", "Operator", "auditor")), settings).role == "operator"
    # A claim naming no app role leaves the role alone.
    assert sign_in(session_factory, identity(roles=("Everyone",)), settings).role == "operator"
    # It lowers as well as raises.
    assert sign_in(session_factory, identity(roles=("agent",)), settings).role == "agent"
    changes = [e["changes"]["role"] for e in sso_events(session_factory) if e["action"] == "sso_role_changed"]
    assert changes == [{"from": "agent", "to": "operator"}, {"from": "operator", "to": "agent"}]
    assert {e["user_id"] for e in sso_events(session_factory)} == {str(alice.id)}


def test_a_provisioned_user_takes_its_role_from_the_claim_when_it_names_one(clean_db, session_factory):
    settings = sso_settings(OIDC_AUTO_PROVISION_ROLE="agent", OIDC_ROLES_CLAIM="roles")
    user = sign_in(session_factory, identity(roles=("operator",)), settings)
    assert user.role == "operator"
    assert [(e["action"], e["role_from"]) for e in sso_events(session_factory)] == [("sso_provisioned", "claim")]


@pytest.mark.parametrize("state", ["inactive", "deleted"])
def test_inactive_and_deleted_users_are_refused(clean_db, session_factory, state):
    fields = {"is_active": False} if state == "inactive" else {"is_active": False, "deleted_at": datetime.now(timezone.utc)}
    add_user(session_factory, auth_provider=ISSUER, auth_provider_user_id="okta-1", **fields)
    add_user(session_factory, email="carol@lender.example", username="carol", **fields)
    settings = sso_settings(OIDC_AUTO_PROVISION_ROLE="agent", OIDC_ROLES_CLAIM="roles")
    with pytest.raises(AccountDisabled) as caught:
        sign_in(session_factory, identity(roles=("admin",)), settings)
    assert caught.value.status == 401
    # Found by e-mail: refused too, and not linked (nor a second user provisioned).
    with pytest.raises(AccountDisabled):
        sign_in(session_factory, identity(sub="okta-carol", email="carol@lender.example"), settings)
    with session_factory() as session:
        assert session.scalar(select(User.auth_provider).where(User.username == "carol")) is None
        assert session.scalar(select(User.role).where(User.username == "alice")) == "agent"
    assert user_count(session_factory) == 2
    assert sso_events(session_factory) == []


def test_an_entra_issuer_is_stored_as_it_is_and_an_overlong_one_as_a_digest(clean_db, session_factory):
    entra = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"
    assert provider_key(entra) == entra and provider_key(ISSUER) == ISSUER
    overlong = "https://idp.example/" + "t" * 300
    digest = provider_key(overlong)
    assert len(digest) <= 255 and digest.startswith("oidc-sha256:") and digest == provider_key(overlong)
    add_user(session_factory)
    settings = Settings.from_env({"OIDC_ISSUER": entra, "OIDC_AUDIENCE": "api://refunds"})
    user = sign_in(session_factory, identity(issuer=entra), settings)
    assert user.auth_provider == entra
    assert sign_in(session_factory, identity(issuer=entra, email=None), settings).id == user.id


def test_role_from_claim_precedence():
    assert role_from_claim(("agent", "ADMIN")) == "admin"
    assert role_from_claim(("auditor", "operator")) == "operator"
    assert role_from_claim(("agent", "auditor")) == "auditor"
    assert role_from_claim(("superuser",)) is None and role_from_claim(()) is None


# --- concurrency: two first sign-ins of one identity -------------------------------------------


def _racing(session_factory, ident: OidcIdentity, settings: Settings):
    """Sign in with A's transaction still open, start B (which must wait for A), commit A."""
    results: dict[str, object] = {}
    session_a = session_factory()
    user_a = resolve_user(session=session_a, identity=ident, settings=settings)

    def second() -> None:
        try:
            with session_factory() as session_b:
                results["b"] = resolve_user(session=session_b, identity=ident, settings=settings).id
                session_b.commit()
        except Exception as exc:  # reported to the test below
            results["b"] = exc

    thread = threading.Thread(target=second)
    thread.start()
    time.sleep(0.5)
    assert thread.is_alive(), f"B did not wait for A: {results.get('b')!r}"
    results["a"] = user_a.id
    session_a.commit()
    session_a.close()
    thread.join(10)
    return results


def test_two_first_sign_ins_provision_one_user(clean_db, session_factory):
    settings = sso_settings(OIDC_AUTO_PROVISION_ROLE="agent")
    results = _racing(session_factory, identity(sub="okta-new", email="new@lender.example"), settings)
    assert results["a"] == results["b"]
    assert user_count(session_factory) == 1
    assert [e["action"] for e in sso_events(session_factory)] == ["sso_provisioned"]


def test_two_first_sign_ins_link_once(clean_db, session_factory):
    alice = add_user(session_factory)
    results = _racing(session_factory, identity(), sso_settings())
    assert results["a"] == results["b"] == alice.id
    assert [e["action"] for e in sso_events(session_factory)] == ["sso_linked"]


def test_many_simultaneous_first_sign_ins_make_one_user(clean_db, session_factory):
    settings = sso_settings(OIDC_AUTO_PROVISION_ROLE="agent")
    ident = identity(sub="okta-crowd", email="crowd@lender.example")
    barrier = threading.Barrier(8)
    ids, errors = [], []

    def sign_in_now() -> None:
        barrier.wait()
        try:
            with session_factory() as session:
                ids.append(resolve_user(session=session, identity=ident, settings=settings).id)
                session.commit()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sign_in_now) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert errors == [] and len(ids) == 8 and len(set(ids)) == 1
    assert user_count(session_factory) == 1


# --- the whole path: a token from a provider to a user ---------------------------------------------


def test_a_verified_token_signs_in_its_user(clean_db, session_factory):
    with LoopbackProvider(audience="api://refunds") as idp:
        settings = Settings.from_env({"OIDC_ISSUER": idp.issuer, "OIDC_AUDIENCE": "api://refunds", "OIDC_ROLES_CLAIM": "realm_access.roles"})
        carol = add_user(session_factory, email="carol@lender.example", username="carol")
        verified = OidcVerifier(OidcConfig.from_settings(settings)).verify(
            idp.token(sub="kc-carol", email="carol@lender.example", realm_access={"roles": ["auditor"]})
        )
        user = sign_in(session_factory, verified, settings)
    assert user.id == carol.id and user.role == "auditor" and user.auth_provider_user_id == "kc-carol"
