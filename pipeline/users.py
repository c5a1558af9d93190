"""Users: create, read, list, update and soft-delete (authentication arrives later).

E-mail addresses and usernames are unique across every user, deleted ones included: a deleted
user keeps its row (its id is named by corrections, approvals and audit events), so its address
cannot be given to someone else without the history becoming ambiguous. Uniqueness is checked
first to answer with the field at fault, and the database's constraints have the final word: an
insert or update racing another one fails inside a savepoint and becomes the same 409.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import User
from pipeline import audit
from pipeline.core.errors import Conflict, NotFound
from pipeline.core.formatting import iso_utc

logger = logging.getLogger(__name__)

UNIQUE_FIELDS = ("email", "username")
UPDATABLE_FIELDS = ("email", "username", "full_name", "role", "is_active")


@dataclass
class UserPage:
    items: list[User]
    total: int


def as_dict(user: User) -> dict[str, Any]:
    """A user as the admin API shows it."""
    return {
        "user_id": str(user.id),
        "email": user.email,
        "username": user.username,
        "full_name": user.full_name,
        "role": user.role,
        "is_active": user.is_active,
        "deleted_at": iso_utc(user.deleted_at),
        "last_login_at": iso_utc(user.last_login_at),
        "created_at": iso_utc(user.created_at),
        "updated_at": iso_utc(user.updated_at),
    }


def get(*, session: Session, user_id: uuid.UUID) -> User | None:
    """The user with this id, deleted or not."""
    return session.get(User, user_id)


def get_or_raise(*, session: Session, user_id: uuid.UUID) -> User:
    user = get(session=session, user_id=user_id)
    if user is None:
        raise NotFound(f"No user has id {user_id}.")
    return user


def get_all(*, session: Session, offset: int = 0, limit: int = 50, include_deleted: bool = False, role: str | None = None) -> UserPage:
    """One page of users, oldest first, with the total matching the filters."""
    conditions = []
    if not include_deleted:
        conditions.append(User.deleted_at.is_(None))
    if role is not None:
        conditions.append(User.role == role)
    total = session.scalar(select(func.count()).select_from(User).where(*conditions)) or 0
    items = session.scalars(
        select(User).where(*conditions).order_by(User.created_at, User.id).offset(offset).limit(limit)
    ).all()
    return UserPage(items=list(items), total=total)


def _taken(*, session: Session, values: dict[str, Any], exclude: uuid.UUID | None = None) -> dict[str, list[str]]:
    """Field errors for the unique values already used by another user."""
    wanted = {name: values[name] for name in UNIQUE_FIELDS if values.get(name) is not None}
    if not wanted:
        return {}
    query = select(User.email, User.username).where(or_(*(getattr(User, name) == value for name, value in wanted.items())))
    if exclude is not None:
        query = query.where(User.id != exclude)
    errors: dict[str, list[str]] = {}
    for email, username in session.execute(query):
        for name, existing in (("email", email), ("username", username)):
            if name in wanted and existing == wanted[name]:
                errors[name] = [f"A user with this {name} already exists (deleted users keep theirs)."]
    return errors


def _violated_field(exc: IntegrityError) -> str | None:
    """Which unique field an IntegrityError is about, from the constraint's name where the driver
    gives it (PostgreSQL), else from the message (SQLite names the column)."""
    constraint = getattr(getattr(getattr(exc, "orig", None), "diag", None), "constraint_name", None) or ""
    text = f"{constraint} {exc.orig}"
    for name in UNIQUE_FIELDS:
        if f"users_{name}" in text or f"users.{name}" in text:
            return name
    return None


def _conflict(errors: dict[str, list[str]]) -> Conflict:
    fields = " and ".join(sorted(errors))
    return Conflict(f"A user with this {fields} already exists.", details={"json": errors})


def _flush_unique(session: Session) -> None:
    """Flush pending user changes in a savepoint; a unique violation becomes a 409, and the rest
    of the request's unit of work survives the rollback of the savepoint."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        field = _violated_field(exc)
        if field is None:
            raise
        logger.info("user %s taken by a concurrent request", field)
        raise _conflict({field: [f"A user with this {field} already exists (deleted users keep theirs)."]}) from None


def create(*, session: Session, email: str, username: str, full_name: str | None = None, role: str = "agent", is_active: bool = True) -> User:
    """Add a user; 409 when the e-mail or username is taken. Audited as `admin`."""
    values = {"email": email, "username": username}
    errors = _taken(session=session, values=values)
    if errors:
        raise _conflict(errors)
    user = User(email=email, username=username, full_name=full_name, role=role, is_active=is_active)
    session.add(user)
    _flush_unique(session)
    audit.record(session=session, event_type="admin", data={"action": "user_created", "user_id": str(user.id), "role": role})
    return user


def update(*, session: Session, user: User, changes: dict[str, Any]) -> User:
    """Change some of a user's fields; 409 when the user is deleted or a unique value is taken.

    Audited as `admin` with the fields that changed (from and to); a change to nothing is not.
    """
    if user.deleted_at is not None:
        raise Conflict("This user is deleted; deleted users cannot be changed.")
    unknown = set(changes) - set(UPDATABLE_FIELDS)
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    changed = {name: value for name, value in changes.items() if getattr(user, name) != value}
    if not changed:
        return user
    errors = _taken(session=session, values=changed, exclude=user.id)
    if errors:
        raise _conflict(errors)
    diff = {name: {"from": getattr(user, name), "to": value} for name, value in changed.items()}
    for name, value in changed.items():
        setattr(user, name, value)
    _flush_unique(session)
    audit.record(session=session, event_type="admin", data={"action": "user_updated", "user_id": str(user.id), "changes": diff})
    return user


def delete(*, session: Session, user: User) -> bool:
    """Soft-delete: the row stays (history names it), marked deleted and inactive.

    Deleting a deleted user changes nothing and returns False. Audited as `admin`.
    """
    if user.deleted_at is not None:
        return False
    user.deleted_at = datetime.now(timezone.utc)
    user.is_active = False
    session.flush()
    audit.record(session=session, event_type="admin", data={"action": "user_deleted", "user_id": str(user.id)})
    return True
