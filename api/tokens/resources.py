"""Sign-in resources: who am I, and API tokens (each user their own; admins anyone's)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api import auth
from api import db as api_db
from api.auth import roles
from api.common import parse_id
from api.current import settings
from api.tokens.schemas import (
    MeSchema,
    NewTokenSchema,
    TokenCreateSchema,
    TokenListArgsSchema,
    TokenSchema,
)
from pipeline import users
from pipeline.core.errors import Forbidden, NotFound
from pipeline.identity import tokens
from pipeline.identity.roles import ADMIN, ANY_USER, ROLE_DESCRIPTIONS

blp = Blueprint("sign-in", __name__, description="Who is signed in, and API tokens for scripts and service accounts.")

EXAMPLE_TOKEN = {
    "token_id": "3f6d2a1b-7c4e-4b8a-9e2f-1a0b9c8d7e6f",
    "user_id": "7a1e3c52-4b8d-4f0e-9c2a-5d6b7e8f9a01",
    "name": "nightly batch script",
    "prefix": "cre_Xk3v9Q",
    "created_at": "2026-12-02T09:00:00+00:00",
    "expires_at": "2027-03-02T09:00:00+00:00",
    "last_used_at": None,
    "revoked_at": None,
    "active": True,
}


def _target_user_id(requested):  # uuid.UUID | None
    """Whose tokens: one's own, or (admins only) another user's."""
    me = auth.current()
    if requested is None or requested == me.user_id:
        return me.user_id
    if me.role != ADMIN:
        raise Forbidden("Only an admin may manage another user's tokens.")
    return requested


@blp.route("/me")
class Me(MethodView):
    @roles(*ANY_USER)
    @blp.response(200, MeSchema)
    def get(self):
        """Who am I

        The signed-in user, their role and what it allows: the console shows only what the role
        may do.
        """
        me = auth.current()
        user = users.get_or_raise(session=api_db.session(), user_id=me.user_id)
        return {**users.as_dict(user), "signed_in_with": me.method, "role_allows": ROLE_DESCRIPTIONS[user.role]}


@blp.route("/tokens")
class Tokens(MethodView):
    @roles(*ANY_USER)
    @blp.arguments(TokenListArgsSchema, location="query")
    @blp.response(200, TokenSchema(many=True))
    @blp.alt_response(403, description="A user who is not an admin asked for someone else's tokens.")
    def get(self, args):
        """List API tokens

        Your own tokens, newest first (never the tokens themselves, which are shown only when
        created). Admins may pass `user_id` or `all_users=true`. Revoked tokens are left out
        unless `include_revoked=true`.
        """
        if args["all_users"]:
            if auth.current().role != ADMIN:
                raise Forbidden("Only an admin may list every user's tokens.")
            user_id = None
        else:
            user_id = _target_user_id(args.get("user_id"))
        rows = tokens.list_for(session=api_db.session(), user_id=user_id, include_revoked=args["include_revoked"])
        return [tokens.as_dict(row) for row in rows]

    @roles(*ANY_USER)
    @blp.arguments(TokenCreateSchema, required=False, example={"name": "nightly batch script", "expires_days": 90})
    @blp.response(201, NewTokenSchema, example={**EXAMPLE_TOKEN, "token": "cre_Xk3v9Q...(43 characters)"})
    @blp.alt_response(403, description="A user who is not an admin asked for a token for someone else.")
    @blp.alt_response(404, description="No user has this `user_id`.")
    @blp.alt_response(422, description="A bad name or expiry, or the user is inactive.")
    def post(self, body):
        """Create an API token

        The answer carries the token once; only its hash is kept, so it cannot be shown again.
        Audited as `admin` (token_created).
        """
        session = api_db.session()
        user = users.get_or_raise(session=session, user_id=_target_user_id(body.get("user_id")))
        expires = body["expires_days"] if "expires_days" in body else (settings().api_token_expires_days or None)
        new = tokens.create(session=session, user=user, name=body.get("name"), expires_days=expires, created_by=auth.current_user_id())
        return {**tokens.as_dict(new.row), "token": new.token}


@blp.route("/tokens/<token_id>")
class TokenById(MethodView):
    @roles(*ANY_USER)
    @blp.response(204)
    @blp.alt_response(404, description="No token of yours has this id (admins: no token at all).")
    @blp.alt_response(422, description="The id is not a UUID.")
    def delete(self, token_id):
        """Revoke an API token

        Takes effect at once, on every process. Revoking a revoked token changes nothing.
        Audited as `admin` (token_revoked).
        """
        session = api_db.session()
        token = tokens.get_or_raise(session=session, token_id=parse_id(token_id, "token_id"))
        me = auth.current()
        if token.user_id != me.user_id and me.role != ADMIN:
            raise NotFound(f"No token has id {token_id}.")
        tokens.revoke(session=session, token=token)
        return None
