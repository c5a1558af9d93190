"""Signed-in test clients.

Every request the tests make is signed in, as the API now requires: by default as an admin whose
user and API token are created on first use after each database clean-up. A test chooses another
identity with ``as_token=`` (a token from :func:`user_with_token`) or none with ``anonymous=True``.
"""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.support import database as dbsupport

_default: dict[str, object] = {"generation": None, "token": None}


def user_with_token(role: str, *, email: str | None = None, settings=None, **user_fields) -> tuple[object, str]:
    """(user, token): a new active user with the role and an API token of theirs.

    Written as plain rows, not through the admin service, so that they add no audit events to
    the trails the tests inspect.
    """
    import secrets

    from models import ApiToken, User
    from pipeline.core import db
    from pipeline.core.settings import get_settings
    from pipeline.identity.tokens import PREFIX, hash_token

    settings = settings or get_settings()
    email = email or f"{role}-{dbsupport.unique_suffix()}@example.com"
    token = PREFIX + secrets.token_urlsafe(32)
    with db.unit_of_work(settings) as session:
        user = User(email=email, username=email.split("@")[0], role=role, **user_fields)
        session.add(user)
        session.flush()
        session.add(ApiToken(user_id=user.id, name=f"test {role}", prefix=token[:10], token_hash=hash_token(token)))
        session.flush()
        session.expunge(user)
    return user, token


def default_token() -> str:
    """The default admin's token, (re)created after each clean-up of the test database."""
    if _default["generation"] != dbsupport.generation() or _default["token"] is None:
        _user, token = user_with_token("admin", email=f"test-admin-{dbsupport.unique_suffix()}@example.com")
        _default.update(generation=dbsupport.generation(), token=token)
    return str(_default["token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class SignedInClient(FlaskClient):
    """Flask's test client, signed in as the default admin unless told otherwise."""

    def open(self, *args, as_token: str | None = None, anonymous: bool = False, **kwargs):
        headers = dict(kwargs.pop("headers", None) or {})
        if not anonymous and not any(k.lower() == "authorization" for k in headers):
            headers["Authorization"] = f"Bearer {as_token or default_token()}"
        return super().open(*args, headers=headers, **kwargs)
