"""Why a sign-in failed, each with the status the API answers (see pipeline.core.errors.AppError).

Messages are safe to show to the caller: they never repeat the token or a claim's value.
"""

from __future__ import annotations

from pipeline.core.errors import AppError, Unavailable

_TOKEN_MESSAGES = {
    "malformed": "The bearer token is not a well-formed JSON Web Token.",
    "too_large": "The bearer token is too large.",
    "algorithm": "The token's signing algorithm is not accepted.",
    "key_mismatch": "The token's signing algorithm does not match the provider's key.",
    "unknown_key": "The token was signed with a key the identity provider does not publish.",
    "unusable_key": "The identity provider's key for this token cannot be used.",
    "signature": "The token's signature does not verify.",
    "issuer": "The token was not issued by the configured identity provider.",
    "audience": "The token is not meant for this service (audience).",
    "expired": "The token has expired.",
    "not_yet_valid": "The token is not valid yet.",
    "issued_at": "The token's issue time (iat) is invalid.",
    "missing_claim": "The token lacks a required claim.",
    "subject": "The token's subject (sub) is missing or too long.",
    "disabled": "Sign-in with an identity provider token is not enabled on this service.",
    "invalid": "The token is not valid.",
}


class InvalidToken(AppError):
    """The token is not acceptable (401). ``reason`` is a short code for logs and metrics."""

    status = 401
    code = "invalid_token"

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__(message or _TOKEN_MESSAGES.get(reason, _TOKEN_MESSAGES["invalid"]))
        self.reason = reason


class ProviderUnavailable(Unavailable):
    """The identity provider's discovery document or keys cannot be fetched (503, not 401:
    the token may well be good). ``reason`` says what failed, for the logs."""

    code = "identity_provider_unavailable"

    def __init__(self, reason: str) -> None:
        super().__init__("The identity provider cannot be reached to check the token; try again shortly.")
        self.reason = reason


class NotAuthorized(AppError):
    """A genuine identity this service does not let in (403): no user was registered for it and
    provisioning is off, or its e-mail belongs to a user linked to another identity."""

    status = 403
    code = "not_authorized"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class AccountDisabled(AppError):
    """The identity's user is deactivated or deleted (401)."""

    status = 401
    code = "account_disabled"

    def __init__(self, message: str = "This account is disabled; ask an administrator.") -> None:
        super().__init__(message)
