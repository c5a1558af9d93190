"""JSON log lines with the request id, and secrets masked.

The request id lives in a context variable: the API sets it per request, the worker per task (it
travels in the task's headers), so one id follows a request from the API through the job into the
worker's logs. The acting user's id travels the same way (the worker takes it from the job row).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import traceback
import uuid
from datetime import datetime, timezone

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
# Who the work is for: the signed-in user in the API, the job's requester in the worker. It names
# the user in every log line and is the default user of audit events, jobs and batches.
user_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("user_id", default=None)

# Shapes of provider keys that must never reach a log even if nobody registered them.
_KEY_PATTERNS = re.compile(r"\b(sk-ant-[A-Za-z0-9_\-]{8,}|sk-[A-Za-z0-9_\-]{16,}|AKIA[0-9A-Z]{16})\b")
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.\-]*://[^:/@\s]*:)([^@/\s]+)(@)", re.IGNORECASE)

# Attributes every LogRecord has; anything else passed with ``extra=`` is emitted as a field.
_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def get_request_id() -> str | None:
    return request_id_var.get()


def get_user_id() -> uuid.UUID | None:
    """The acting user's id, or None (system work: the reconciler, the CLI without --user)."""
    raw = user_id_var.get()
    return uuid.UUID(raw) if raw else None


def mask_secrets(text: str, secrets: tuple[str, ...] = ()) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    text = _URL_PASSWORD.sub(r"\1***\3", text)
    return _KEY_PATTERNS.sub("***", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id and any extras."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        user_id = getattr(record, "user_id", None) or user_id_var.get()
        if user_id:
            entry["user_id"] = str(user_id)
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and key not in entry and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return mask_secrets(json.dumps(entry, default=str), self.secrets)


def configure_logging(level: str = "INFO", secrets: list[str] | tuple[str, ...] = ()) -> None:
    """Send every logger's records to standard error as JSON lines (idempotent)."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "_cre_json", False)), None)
    if handler is None:
        for old in list(root.handlers):
            root.removeHandler(old)
        handler = logging.StreamHandler(sys.stderr)
        handler._cre_json = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    handler.setFormatter(JsonFormatter(tuple(secrets)))
    root.setLevel(level)
    # Chatty libraries stay at WARNING unless the operator asks for DEBUG.
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer", "httpx", "httpcore", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(level if level == "DEBUG" else "WARNING")
