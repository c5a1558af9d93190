"""Readiness checks of the dependencies: database, cache (Redis) and the Celery broker."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kombu import Connection
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError

from pipeline.core import cache, db
from pipeline.core.settings import Settings, mask_url

logger = logging.getLogger(__name__)


def _timed(check: Callable[[], str]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = check()
    except Exception as exc:  # a readiness probe reports every failure, whatever its type
        logger.warning("readiness check failed: %s", exc)
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"ok": True, "detail": detail, "latency_ms": round((time.perf_counter() - started) * 1000, 1)}


@functools.lru_cache(maxsize=1)
def schema_head() -> str:
    """The newest migration's revision (read once from the migration scripts)."""
    from alembic.script import ScriptDirectory

    from pipeline.ops.migrate import MIGRATIONS

    return ScriptDirectory(str(MIGRATIONS)).get_current_head() or ""


def check_database(settings: Settings) -> dict[str, Any]:
    """The database answers and its schema is at the newest migration (an unmigrated or
    half-migrated database would answer 503 on every call: not ready)."""

    def run() -> str:
        with db.engine(settings).connect() as conn:
            try:
                revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            except (ProgrammingError, OperationalError) as exc:  # no alembic_version table
                if "alembic_version" not in str(exc):
                    raise
                revision = None
        head = schema_head()
        if revision != head:
            raise RuntimeError(f"schema at {revision or 'no revision'}, code expects {head}: run flask --app api db upgrade")
        return ("sqlite (embedded)" if settings.is_sqlite else "postgresql") + f", schema {revision}"

    return _timed(run)


def check_cache(settings: Settings) -> dict[str, Any]:
    def run() -> str:
        cache.get_cache(settings).ping()
        return mask_url(settings.redis_url) if settings.redis_url else "in-process (embedded)"

    return _timed(run)


def check_broker(settings: Settings) -> dict[str, Any]:
    def run() -> str:
        if settings.broker_is_filesystem:
            folder = settings.broker_dir
            if not folder.is_dir():
                raise FileNotFoundError(f"broker folder {folder} does not exist")
            probe = Path(folder) / ".ready-probe"
            probe.write_text("ok")
            probe.unlink()
            return "filesystem (embedded)"
        with Connection(settings.celery_broker_url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=3)
        return mask_url(settings.celery_broker_url)

    return _timed(run)


def readiness(settings: Settings) -> tuple[bool, dict[str, dict[str, Any]]]:
    """Every dependency's state, and whether all are up."""
    checks = {
        "database": check_database(settings),
        "cache": check_cache(settings),
        "broker": check_broker(settings),
    }
    return all(c["ok"] for c in checks.values()), checks
