"""Request and response bodies of the sign-in resources: who am I, API tokens."""

import marshmallow as ma

from api.admin.schemas import UserSchema
from api.fields import QueryBoolean, StrictBoolean
from pipeline.identity.tokens import MAX_EXPIRES_DAYS


class MeSchema(UserSchema):
    signed_in_with = ma.fields.String(metadata={"enum": ["token", "oidc"], "description": "an API token or the identity provider"})
    role_allows = ma.fields.String(metadata={"description": "what the role may do, in words"})


class TokenCreateSchema(ma.Schema):
    name = ma.fields.String(validate=ma.validate.Length(min=1, max=100), metadata={"description": "what the token is for", "example": "nightly batch script"})
    expires_days = ma.fields.Integer(
        allow_none=True,
        validate=ma.validate.Range(min=1, max=MAX_EXPIRES_DAYS),
        metadata={"description": "days until it expires; default API_TOKEN_EXPIRES_DAYS; null: never"},
    )
    user_id = ma.fields.UUID(metadata={"description": "admins only: create the token for this user (default: yourself)"})


class TokenListArgsSchema(ma.Schema):
    user_id = ma.fields.UUID(metadata={"description": "admins only: this user's tokens (default: yours)"})
    all_users = QueryBoolean(load_default=False, metadata={"description": "admins only: every user's tokens"})
    include_revoked = QueryBoolean(load_default=False)


class TokenSchema(ma.Schema):
    token_id = ma.fields.String(metadata={"format": "uuid"})
    user_id = ma.fields.String(metadata={"format": "uuid"})
    name = ma.fields.String()
    prefix = ma.fields.String(metadata={"description": "the token's first characters, to tell tokens apart (never enough to use it)"})
    created_at = ma.fields.String(metadata={"format": "date-time"})
    expires_at = ma.fields.String(allow_none=True, metadata={"format": "date-time"})
    last_used_at = ma.fields.String(allow_none=True, metadata={"format": "date-time"})
    revoked_at = ma.fields.String(allow_none=True, metadata={"format": "date-time"})
    active = StrictBoolean(metadata={"description": "neither revoked nor expired"})


class NewTokenSchema(TokenSchema):
    token = ma.fields.String(metadata={"description": "the token itself: shown this once, only its hash is kept"})
