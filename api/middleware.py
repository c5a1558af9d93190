"""Per-request plumbing: request id, one structured log line per request, CORS, body limit."""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request
from flask_cors import CORS

from pipeline.logs import request_id_var
from pipeline.settings import Settings

logger = logging.getLogger("api.request")

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
# Probes and docs would drown the log at INFO; they are logged at DEBUG.
_QUIET_PREFIXES = ("/health", "/ready", "/docs", "/openapi.json")


def init_app(app: Flask, settings: Settings) -> None:
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    CORS(
        app,
        origins=list(settings.cors_origins) or [],
        expose_headers=["X-Request-ID", "Location", "X-Pagination", "ETag"],
        supports_credentials="*" not in settings.cors_origins,
    )

    @app.before_request
    def _start() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.request_id = request_id
        g.request_token = request_id_var.set(request_id)
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        request_id = g.get("request_id")
        if request_id:
            response.headers["X-Request-ID"] = request_id
        started = g.get("request_started")
        duration_ms = round((time.perf_counter() - started) * 1000, 2) if started else None
        level = logging.DEBUG if request.path.startswith(_QUIET_PREFIXES) and response.status_code < 500 else logging.INFO
        logger.log(
            level,
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "endpoint": request.endpoint,
                "status": response.status_code,
                "duration_ms": duration_ms,
            },
        )
        return response

    @app.teardown_request
    def _reset(_exc: BaseException | None) -> None:
        token = g.pop("request_token", None)
        if token is not None:
            request_id_var.reset(token)
