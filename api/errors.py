"""The shared error body, produced for every 4xx and 5xx.

    {"status": 422, "code": "validation_error", "message": "...", "details": {...}, "request_id": "..."}

``code`` is stable and meant for programs; ``message`` is for people; ``details`` carries field
errors (``{"json": {"account_number": ["..."]}}``) where there are any.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import marshmallow as ma
from flask import jsonify
from flask_smorest import Api as SmorestApi
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from pipeline.core.errors import AppError
from pipeline.core.logs import get_request_id

logger = logging.getLogger(__name__)

# Stable codes for the HTTP errors the framework raises itself.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    428: "precondition_required",
    429: "too_many_requests",
    500: "internal_error",
    502: "upstream_error",
    503: "unavailable",
    504: "upstream_timeout",
}

DEFAULT_MESSAGES = {
    400: "The request could not be understood.",
    404: "No such resource. See /docs for the API.",
    405: "This method is not allowed on this resource.",
    413: "The request body is too large.",
    415: "The request body must be JSON (Content-Type: application/json).",
    422: "The request is invalid; see details.",
    500: "Something went wrong on our side. The request id identifies it in the logs.",
}


class ErrorSchema(ma.Schema):
    """The error body every failing request gets."""

    status = ma.fields.Integer(required=True, metadata={"description": "HTTP status", "example": 422})
    code = ma.fields.String(required=True, metadata={"description": "stable, machine-readable error code", "example": "validation_error"})
    message = ma.fields.String(required=True, metadata={"description": "what went wrong, for people", "example": "The request is invalid; see details."})
    details = ma.fields.Dict(metadata={"description": "field errors and other specifics", "example": {"json": {"account_number": ["Missing data for required field."]}}})
    request_id = ma.fields.String(metadata={"description": "id of this request, also in the logs and the X-Request-ID header"})


def error_body(status: int, message: str | None = None, *, code: str | None = None, details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": status,
        "code": code or HTTP_CODES.get(status, HTTPStatus(status).phrase.lower().replace(" ", "_")),
        "message": message or DEFAULT_MESSAGES.get(status) or HTTPStatus(status).phrase,
        "request_id": get_request_id(),
    }
    if details:
        body["details"] = details
    return body


def _response(body: dict[str, Any], headers: dict[str, str] | None = None):
    response = jsonify(body)
    response.status_code = body["status"]
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


class Api(SmorestApi):
    """flask-smorest's Api with the shared error body and the shared error schema in the docs."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        self._app.register_error_handler(HTTPException, self.handle_http_exception)
        self._app.register_error_handler(AppError, handle_app_error)
        self._app.register_error_handler(sa_exc.OperationalError, handle_database_unavailable)
        self._app.register_error_handler(Exception, handle_unexpected)

    def handle_http_exception(self, error: HTTPException):
        data = getattr(error, "data", None) or {}
        details = data.get("errors") or data.get("messages")
        message = data.get("message")
        status = error.code or 500
        if status == 400 and details and "json" in details and not message:
            # webargs reports an undecodable body as a 400 with messages under "json".
            message = "The request body is not valid JSON."
        elif status == 422 and not message:
            message = _first_field_error(details) or DEFAULT_MESSAGES[422]
        elif not message and error.description and status not in DEFAULT_MESSAGES:
            message = error.description
        # Headers the exception carries (a 416's Content-Range, a 401's challenge) survive the
        # shared body; the body's own type and length are set anew.
        headers = {k: v for k, v in error.get_headers() if k.lower() not in ("content-type", "content-length")}
        headers.update(data.get("headers") or {})
        if status == 405 and getattr(error, "valid_methods", None):
            headers["Allow"] = ", ".join(error.valid_methods)
        return _response(error_body(status, message, details=details), headers)


def _first_field_error(details: Any) -> str | None:
    """'account_number: Missing data for required field.' from webargs' nested messages."""
    if not isinstance(details, dict):
        return None
    for location in details.values():
        if isinstance(location, dict):
            for field, messages in location.items():
                if isinstance(messages, list) and messages and isinstance(messages[0], str):
                    return f"{field}: {messages[0]}"
    return None


def handle_app_error(error: AppError):
    if error.status >= 500:
        logger.warning("request failed: %s", error.message, extra={"code": error.code})
    return _response(error_body(error.status, error.message, code=error.code, details=error.details), error.headers)


def handle_database_unavailable(error: Exception):
    """The database refused or dropped the connection (a restart, a failover): worth a retry.

    The pool has already dropped the dead connection, so the client's next try gets a fresh one.
    """
    logger.warning("database unavailable: %s", str(error).splitlines()[0] if str(error) else type(error).__name__)
    return _response(error_body(503, "The database is unavailable; try again in a moment."), {"Retry-After": "1"})


def handle_unexpected(error: Exception):
    logger.exception("unhandled error")
    return _response(error_body(500))
