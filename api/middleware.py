"""Per-request plumbing: request id, one structured log line per request, CORS, body limit, and
the request's own audit event.

Every request that changes state or reads contract data is also an ``api_request`` audit event
(method, path, endpoint, status, duration), except the paths in AUDIT_REQUEST_EXCLUDE (probes,
docs, metrics, job polling), so polling cannot flood the table. A request that succeeds writes its
event in its own unit of work, committed with what it changed. A request that fails is rolled
back, so its event is written afterwards in a short transaction of its own: the attempt is
audited and none of its half-done domain rows survive.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request
from flask_cors import CORS
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from api import db as api_db
from pipeline import audit
from pipeline.core import db
from pipeline.core.logs import request_id_var
from pipeline.core.settings import Settings

logger = logging.getLogger("api.request")

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
# Probes and docs would drown the log at INFO; they are logged at DEBUG.
_QUIET_PREFIXES = ("/health", "/ready", "/docs", "/openapi.json", "/metrics")


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
        if g.pop("audit_pending", False):
            _audit_after_rollback(settings, response, duration_ms)
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


def is_audited(method: str, path: str, exclude: tuple[tuple[str, str], ...]) -> bool:
    """Whether a request becomes an api_request event: not a preflight, not an excluded path."""
    if method in ("OPTIONS", "HEAD"):
        return False
    for rule_method, prefix in exclude:
        if rule_method and rule_method != method:
            continue
        if prefix == "/" or path == prefix or path.startswith(prefix + "/"):
            return False
    return True


def audit_without_subject() -> None:
    """Keep this request's api_request event off the contract's and extraction's trails.

    For reads of the trails themselves: the read is audited, but it does not change the trail it
    reads (and page 2 does not shift under the reader).
    """
    g.audit_unlinked = True


def not_audited() -> None:
    """Keep this request off the audit trail (the console's pages and assets: not contract data)."""
    g.audit_skip = True


def _ids() -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """The contract and extraction the request names in its path or its JSON body."""
    if g.get("audit_unlinked"):
        return None, None
    found: dict[str, uuid.UUID] = {}
    try:
        body = request.get_json(silent=True) if request.is_json and not g.get("json_refused") else None
    except (HTTPException, RecursionError):  # a body too large or too deep to read names nothing
        body = None
    for source in (request.view_args or {}, body if isinstance(body, dict) else {}):
        for key in ("contract_id", "extraction_id"):
            if key in found or not isinstance(source.get(key), str):
                continue
            try:
                found[key] = uuid.UUID(source[key])
            except ValueError:
                pass
    return found.get("contract_id"), found.get("extraction_id")


def _request_data(response: Response) -> dict:
    started = g.get("request_started")
    return {
        "method": request.method,
        "path": request.path,
        "endpoint": request.endpoint,
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
    }


def init_audit(app: Flask, settings: Settings) -> None:
    """The api_request event of a successful request, added to its unit of work.

    Must be registered after ``api.db.init_app``: Flask runs after-request hooks in reverse
    order, so this one runs before the request's commit (or rollback).
    """

    @app.after_request
    def _audit_in_unit_of_work(response: Response) -> Response:
        # Unknown URLs and wrong methods match no route: logged, not audited.
        if request.url_rule is None or g.get("audit_skip") or not is_audited(request.method, request.path, settings.audit_request_exclude):
            return response
        if response.status_code < 400 or g.get("db_keep_on_error"):
            session = api_db.session()
            try:
                contract_id, extraction_id = audit.subject(session)
                if contract_id is None and extraction_id is None:
                    named_contract, named_extraction = _ids()
                    contract_id, extraction_id = audit.existing_subject(session=session, contract_id=named_contract, extraction_id=named_extraction)
                audit.record(session=session, event_type="api_request", contract_id=contract_id, extraction_id=extraction_id, data=_request_data(response))
            except DBAPIError as exc:
                if not api_db.database_unavailable(exc):
                    raise
                # The database went away after the view answered: the unit of work cannot commit,
                # so the answer becomes the database's 503 (api.db turns it into one).
                g.db_failure = exc
        else:
            # The unit of work is about to be rolled back; the attempt is written after that.
            g.audit_pending = True
            current = g.get("db_session")
            g.audit_subject = audit.subject(current) if current is not None else (None, None)
        return response


def _audit_after_rollback(settings: Settings, response: Response, duration_ms: float | None) -> None:
    """The api_request event of a failed request, in a transaction of its own."""
    contract_id, extraction_id = g.pop("audit_subject", (None, None))
    named_contract, named_extraction = _ids()
    data = {**_request_data(response), "duration_ms": duration_ms}
    try:
        with db.unit_of_work(settings) as session:
            # Only ids that exist (a 404 names one that does not), and nothing the rollback undid.
            contract_id, extraction_id = audit.existing_subject(
                session=session, contract_id=contract_id or named_contract, extraction_id=extraction_id or named_extraction
            )
            audit.record(session=session, event_type="api_request", contract_id=contract_id, extraction_id=extraction_id, data=data)
    except Exception as exc:
        # The client gets its error answer either way (often because the database is down);
        # a lost attempt event is logged, not raised.
        logger.warning("could not audit a failed request: %s", exc, extra={"path": request.path, "status": response.status_code})
