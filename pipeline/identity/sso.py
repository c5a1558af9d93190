"""From a verified identity-provider identity to a row in ``users`` (single sign-on).

The users table stays the app's truth about who may do what; the identity provider says who the
caller is. :func:`resolve_user` finds the user for an identity:

1. **Linked**: the user whose (``auth_provider``, ``auth_provider_user_id``) is the identity's
   (issuer, subject). See :func:`provider_key` for how the issuer is stored.
2. **First sign-in, by e-mail**: when the token carries an ``email`` the provider vouches for
   (``email_verified`` true), the user an admin registered with that address (compared without
   case) is linked to the identity. A user already linked to another identity is not re-linked
   (403: an admin unlinks first), and an unverified address links nothing.
3. **Provisioned**: otherwise, when ``OIDC_AUTO_PROVISION_ROLE`` names a role, a user is created
   with that role, the verified e-mail, and a username from the e-mail's local part (made unique).
   Without a verified e-mail, or without that setting, the identity is refused (403).

A deactivated or deleted user is refused (401), whichever way it was found, and is never linked.

**Roles from the token.** With ``OIDC_ROLES_CLAIM`` set, a token whose roles claim names one of
the app's roles (``agent``, ``operator``, ``auditor``, ``admin``; compared without case; other
values are ignored) sets the user's role to the *most privileged* one named, in the order admin,
operator, auditor, agent. This can lower a role as well as raise it. A token naming none of them
leaves the role as the users table has it.

Linking, provisioning and role changes are audited (event type ``admin``, actions
``sso_linked``, ``sso_provisioned``, ``sso_role_changed``). ``last_login_at`` is refreshed at
most once a minute, so a burst of requests does not write the row each time.

The caller owns the transaction: nothing here commits. Inserts and links are flushed inside a
savepoint; when two first sign-ins of one identity race, the loser's unique violation is rolled
back to the savepoint and the winner's row is read and returned, so there is one user.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import User
from pipeline import audit
from pipeline.core.errors import Conflict
from pipeline.core.settings import Settings, get_settings
from pipeline.identity.errors import AccountDisabled, NotAuthorized
from pipeline.identity.oidc import OidcIdentity

__all__ = ["AccountDisabled", "NotAuthorized", "ROLE_PRECEDENCE", "provider_key", "resolve_user", "role_from_claim"]

logger = logging.getLogger(__name__)

# Most privileged first: the role a token's roles claim gives when it names several.
ROLE_PRECEDENCE = ("admin", "operator", "auditor", "agent")
# last_login_at is written when it is older than this.
LAST_LOGIN_GRANULARITY = timedelta(minutes=1)
# users.auth_provider holds this many characters.
_PROVIDER_CHARS = 255
_USERNAME_CHARS = 100
_EMAIL_CHARS = 320
_ATTEMPTS = 5


def provider_key(issuer: str) -> str:
    """What ``users.auth_provider`` holds for an issuer: the issuer itself when it fits the
    column (255 characters: Entra ID's ``https://login.microsoftonline.com/{tenant}/v2.0`` fits),
    else ``oidc-sha256:`` and the start of its SHA-256."""
    if len(issuer) <= _PROVIDER_CHARS:
        return issuer
    prefix = "oidc-sha256:"
    return prefix + hashlib.sha256(issuer.encode()).hexdigest()[: _PROVIDER_CHARS - len(prefix)]


def role_from_claim(roles: tuple[str, ...]) -> str | None:
    """The most privileged app role among a token's roles, or None when it names none."""
    named = {r.strip().lower() for r in roles}
    return next((role for role in ROLE_PRECEDENCE if role in named), None)


def resolve_user(*, session: Session, identity: OidcIdentity, settings: Settings | None = None) -> User:
    """The active user this verified identity signs in as; see the module's docstring.

    Raises NotAuthorized (403) for an identity no user is registered for (or whose e-mail
    belongs to a user linked to another identity) and AccountDisabled (401) for a deactivated
    or deleted user; Conflict (409) in the unlikely case that concurrent changes to the same
    user keep winning every attempt. Does not commit.
    """
    settings = settings or get_settings()
    provider = provider_key(identity.issuer)
    user = _linked(session, provider, identity.subject)
    if user is None:
        user = _first_sign_in(session, identity, provider, settings)
    _refuse_disabled(user)
    if settings.oidc_roles_claim:
        _apply_role_claim(session, user, identity, settings.oidc_roles_claim)
    now = datetime.now(timezone.utc)
    last = user.last_login_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=timezone.utc)  # SQLite gives naive UTC datetimes back
    if last is None or now - last >= LAST_LOGIN_GRANULARITY:
        user.last_login_at = now
    session.flush()
    return user


def _linked(session: Session, provider: str, subject: str) -> User | None:
    return session.scalar(select(User).where(User.auth_provider == provider, User.auth_provider_user_id == subject))


def _refuse_disabled(user: User) -> None:
    if user.deleted_at is not None or not user.is_active:
        logger.info("sign-in refused: user %s is %s", user.id, "deleted" if user.deleted_at is not None else "inactive")
        raise AccountDisabled()


def _first_sign_in(session: Session, identity: OidcIdentity, provider: str, settings: Settings) -> User:
    email = identity.email.strip().lower() if identity.email and identity.email_verified else None
    if email is not None and (len(email) > _EMAIL_CHARS or "@" not in email):
        email = None  # not an address the users table can hold
    for attempt in range(_ATTEMPTS):
        if attempt:
            # The previous attempt lost a race to a concurrent sign-in: it may have linked us.
            linked = _linked(session, provider, identity.subject)
            if linked is not None:
                return linked
        if email is not None:
            # Locked, so two first sign-ins of one person link once (the second sees the link).
            registered = session.scalar(select(User).where(func.lower(User.email) == email).with_for_update())
            if registered is not None:
                user = _link(session, registered, identity, provider)
                if user is not None:
                    return user
                continue
        if not settings.oidc_auto_provision_role:
            logger.info("sign-in refused: no user for subject %r of %s%s", identity.subject, identity.issuer, "" if email else " (no verified e-mail)")
            raise NotAuthorized("No user is registered for this identity; ask an administrator to add you.", reason="unknown_identity")
        if email is None:
            raise NotAuthorized(
                "The identity provider did not vouch for an e-mail address, which a new user needs; ask an administrator to add you.",
                reason="no_verified_email",
            )
        user = _provision(session, identity, provider, email, settings)
        if user is not None:
            return user
    # Every attempt lost a race it could not resolve: a conflict (409), not a server fault.
    raise Conflict("Signing in conflicted with another change to the same user; try again.")


def _link(session: Session, user: User, identity: OidcIdentity, provider: str) -> User | None:
    """Link a registered user to the identity; None when a concurrent sign-in linked the
    identity to another row (the caller reads again)."""
    if user.auth_provider is not None or user.auth_provider_user_id is not None:
        if (user.auth_provider, user.auth_provider_user_id) == (provider, identity.subject):
            return user  # a concurrent first sign-in linked it while this one waited for the lock
        logger.warning("sign-in refused: user %s, found by e-mail, is linked to another identity", user.id)
        raise NotAuthorized(
            "A user with this e-mail is linked to another sign-in identity; ask an administrator.",
            reason="linked_elsewhere",
        )
    _refuse_disabled(user)
    try:
        with session.begin_nested():
            user.auth_provider = provider
            user.auth_provider_user_id = identity.subject
            session.flush()
    except IntegrityError:
        logger.info("identity %r of %s was linked concurrently", identity.subject, identity.issuer)
        return None
    audit.record(
        session=session,
        event_type="admin",
        user_id=user.id,
        data={"action": "sso_linked", "user_id": str(user.id), "issuer": identity.issuer, "subject": identity.subject, "by": "verified_email"},
    )
    logger.info("user %s linked to subject %r of %s", user.id, identity.subject, identity.issuer)
    return user


def _provision(session: Session, identity: OidcIdentity, provider: str, email: str, settings: Settings) -> User | None:
    """A new user for the identity; None when a concurrent change took its e-mail or identity
    (the caller reads again)."""
    claimed = role_from_claim(identity.roles) if settings.oidc_roles_claim else None
    role = claimed or settings.oidc_auto_provision_role
    for username in _usernames(session, email):
        user = User(
            email=email,
            username=username,
            full_name=(identity.name or "")[:200] or None,
            role=role,
            is_active=True,
            auth_provider=provider,
            auth_provider_user_id=identity.subject,
        )
        try:
            with session.begin_nested():
                session.add(user)
                session.flush()
        except IntegrityError as exc:
            if "username" in _constraint(exc):
                continue  # taken between the check and the insert: the next candidate
            logger.info("provisioning subject %r of %s lost a race (%s)", identity.subject, identity.issuer, _constraint(exc) or "unique")
            return None
        audit.record(
            session=session,
            event_type="admin",
            user_id=user.id,
            data={
                "action": "sso_provisioned",
                "user_id": str(user.id),
                "issuer": identity.issuer,
                "subject": identity.subject,
                "role": role,
                "role_from": "claim" if claimed else "OIDC_AUTO_PROVISION_ROLE",
            },
        )
        logger.info("user %s provisioned for subject %r of %s as %s", user.id, identity.subject, identity.issuer, role)
        return user
    return None


def _usernames(session: Session, email: str):
    """Free usernames from the e-mail's local part: alice, alice-2, ..., then random suffixes."""
    base = re.sub(r"[^a-z0-9._-]+", "-", email.split("@", 1)[0].lower()).strip("-._")[: _USERNAME_CHARS - 8] or "user"
    taken = set(session.scalars(select(User.username).where(User.username.like(f"{base}%"))))
    candidates = [base, *(f"{base}-{n}" for n in range(2, 10))]
    for candidate in (c for c in candidates if c not in taken):
        yield candidate
    for _ in range(_ATTEMPTS):
        yield f"{base}-{secrets.token_hex(3)}"


def _constraint(exc: IntegrityError) -> str:
    name = getattr(getattr(getattr(exc, "orig", None), "diag", None), "constraint_name", None)
    return name or str(exc.orig)


def _apply_role_claim(session: Session, user: User, identity: OidcIdentity, claim: str) -> None:
    role = role_from_claim(identity.roles)
    if role is None or role == user.role:
        return
    previous, user.role = user.role, role
    audit.record(
        session=session,
        event_type="admin",
        user_id=user.id,
        data={"action": "sso_role_changed", "user_id": str(user.id), "changes": {"role": {"from": previous, "to": role}}, "claim": claim},
    )
    logger.info("user %s role %s -> %s from the token's roles claim", user.id, previous, role)
