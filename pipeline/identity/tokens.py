"""API tokens: bearer credentials for service accounts, scripts, the CLI and the embedded default.

A token is ``cre_`` followed by 43 random URL-safe characters (256 bits). Only its SHA-256 hash
is stored, so a stolen database copy reveals no usable token; the token itself is shown once,
when it is created. Tokens have a name, an optional expiry, a last-used time and can be revoked.

Functions take the caller's session and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ApiToken, User
from pipeline import audit
from pipeline.core.errors import NotFound, ValidationFailed
from pipeline.core.formatting import iso_utc

PREFIX = "cre_"
MAX_EXPIRES_DAYS = 3650
# last_used_at is written at most this often per token: a busy script should not turn every read
# into a write.
LAST_USED_PRECISION = timedelta(minutes=1)


def looks_like_token(credential: str) -> bool:
    return credential.startswith(PREFIX)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; they were written in UTC.
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


@dataclass(frozen=True)
class NewToken:
    """A token just created: ``token`` is the only time the secret is available."""

    row: ApiToken
    token: str


def create(
    *,
    session: Session,
    user: User,
    name: str | None = None,
    expires_days: int | None = None,
    created_by: uuid.UUID | None = None,
    token: str | None = None,
) -> NewToken:
    """A new token for ``user``; ``token`` lets the embedded default keep a token it wrote to disk."""
    if user.deleted_at is not None or not user.is_active:
        raise ValidationFailed(f"{user.email} is not an active user; a token for them could never be used",
                               details={"json": {"user_id": ["The user is inactive or deleted."]}})
    name = (name or "").strip() or f"token {_now():%Y-%m-%d %H:%M}"
    if len(name) > 100:
        raise ValidationFailed("name: at most 100 characters", details={"json": {"name": ["Longer than 100 characters."]}})
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRES_DAYS:
        raise ValidationFailed(f"expires_days must be between 1 and {MAX_EXPIRES_DAYS}",
                               details={"json": {"expires_days": [f"Must be between 1 and {MAX_EXPIRES_DAYS}."]}})
    secret = token or PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=name,
        prefix=secret[: len(PREFIX) + 6],
        token_hash=hash_token(secret),
        expires_at=_now() + timedelta(days=expires_days) if expires_days else None,
        created_by=created_by,
    )
    session.add(row)
    session.flush()
    audit.record(session=session, event_type="admin", data={
        "action": "token_created", "token_id": str(row.id), "for_user_id": str(user.id), "name": name,
        "expires_at": iso_utc(row.expires_at),
    })
    return NewToken(row=row, token=secret)


@dataclass(frozen=True)
class TokenCheck:
    """The outcome of presenting a token: the user, or why not (a message safe to show)."""

    user: User | None
    token: ApiToken | None
    problem: str | None


def authenticate(*, session: Session, token: str) -> TokenCheck:
    """The active user a token belongs to, or the reason it is refused.

    One indexed lookup (token hash joined to its user); the last-used time is refreshed at most
    once a minute.
    """
    row = session.execute(
        select(ApiToken, User).join(User, User.id == ApiToken.user_id).where(ApiToken.token_hash == hash_token(token))
    ).first()
    if row is None:
        return TokenCheck(None, None, "The token is not valid.")
    api_token, user = row
    now = _now()
    if api_token.revoked_at is not None:
        return TokenCheck(None, api_token, "The token has been revoked.")
    expires_at = _aware(api_token.expires_at)
    if expires_at is not None and expires_at <= now:
        return TokenCheck(None, api_token, "The token has expired.")
    if user.deleted_at is not None or not user.is_active:
        return TokenCheck(None, api_token, "The token's user is inactive or deleted.")
    last_used = _aware(api_token.last_used_at)
    if last_used is None or now - last_used >= LAST_USED_PRECISION:
        api_token.last_used_at = now
    return TokenCheck(user, api_token, None)


def get_or_raise(*, session: Session, token_id: uuid.UUID) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"No token has id {token_id}.")
    return row


def list_for(*, session: Session, user_id: uuid.UUID | None, include_revoked: bool = False) -> list[ApiToken]:
    """Tokens of one user (or of everyone when ``user_id`` is None), newest first."""
    query = select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id)
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_(None))
    return list(session.scalars(query))


def revoke(*, session: Session, token: ApiToken) -> ApiToken:
    """Revoke a token (idempotent: revoking a revoked token changes nothing)."""
    if token.revoked_at is None:
        token.revoked_at = _now()
        audit.record(session=session, event_type="admin", data={
            "action": "token_revoked", "token_id": str(token.id), "for_user_id": str(token.user_id),
        })
    return token


def as_dict(token: ApiToken) -> dict[str, Any]:
    """A token as the API and CLI show it: never the secret, never its hash."""
    now = _now()
    expires_at = _aware(token.expires_at)
    return {
        "token_id": str(token.id),
        "user_id": str(token.user_id),
        "name": token.name,
        "prefix": token.prefix,
        "created_at": iso_utc(token.created_at),
        "expires_at": iso_utc(token.expires_at),
        "last_used_at": iso_utc(token.last_used_at),
        "revoked_at": iso_utc(token.revoked_at),
        "active": token.revoked_at is None and (expires_at is None or expires_at > now),
    }
