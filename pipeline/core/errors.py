"""Domain errors that carry their HTTP status and a stable code.

Pipeline code raises these; one handler in the API turns them into the shared error body, and a
worker records their message on the failed job.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.headers = headers or {}


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class Unauthenticated(AppError):
    """No credentials, or credentials that are malformed, expired, revoked or not recognised."""

    status = 401
    code = "unauthorized"


class Forbidden(AppError):
    """Signed in, but the user's role may not do this (or the identity is not allowed in)."""

    status = 403
    code = "forbidden"


class TooManyRequests(AppError):
    status = 429
    code = "too_many_requests"


class ValidationFailed(AppError):
    status = 422
    code = "validation_error"


class UpstreamError(AppError):
    """A dependency (external source, S3, provider) answered with an error."""

    status = 502
    code = "upstream_error"


class UpstreamTimeout(AppError):
    status = 504
    code = "upstream_timeout"


class Unavailable(AppError):
    status = 503
    code = "unavailable"
