"""Engines and sessions: one engine per database URL per process, one session per unit of work.

Data access code never commits. A unit of work (one request, one task, one CLI command) commits
once, in :func:`session_scope` or the API's request hook. Work that must only happen once the
data is durable (sending a Celery task that carries a job id) is registered with
:func:`after_commit` and runs right after the commit, never before it and never after a rollback.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_engines: dict[str, Engine] = {}
_factories: dict[str, sessionmaker[Session]] = {}

_AFTER_COMMIT_KEY = "after_commit_callbacks"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # DB-API objects
        cursor = dbapi_conn.cursor()
        # Foreign keys are off by default in SQLite; WAL lets the web and the worker read while
        # the other writes; busy_timeout waits for a lock instead of failing at once.
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


# A pooled connection unused for this long is checked with a round trip before it is handed out.
PING_AFTER_IDLE_SECONDS = 10.0


def _ping_after_idle(engine: Engine, idle_seconds: float = PING_AFTER_IDLE_SECONDS) -> None:
    """pool_pre_ping, but only for connections that sat idle.

    A busy process checks a connection out several times per job; pinging each time cost a
    round trip to PostgreSQL and back on every one. A connection used moments ago is alive, or
    its failure is a disconnect SQLAlchemy detects on use (the pool is then invalidated and the
    job retried by its caller or the reconciler). One that sat idle, perhaps across a database
    restart, is pinged and silently replaced when dead.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection, record) -> None:  # DBAPI objects
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, proxy) -> None:  # DBAPI objects
        last = record.info.get("checked_in_at")
        if last is None or time.monotonic() - last < idle_seconds:
            return  # new (just connected) or recently used
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        except Exception as exc:
            # The pool discards this connection and checks out another.
            raise DisconnectionError(f"pooled connection is dead: {exc}") from exc


def get_engine(database_url: str, *, pool_size: int = 20, max_overflow: int = 10) -> Engine:
    """The process's engine for this URL, created on first use."""
    with _lock:
        engine = _engines.get(database_url)
        if engine is not None:
            return engine
        url = make_url(database_url)
        if url.get_backend_name() == "sqlite":
            if url.database and url.database != ":memory:":
                Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
            _configure_sqlite(engine)
        else:
            engine = create_engine(
                url,
                pool_size=pool_size,
                max_overflow=max_overflow,
                pool_recycle=1800,
                connect_args={"connect_timeout": 5, "application_name": "contract-refund-eligibility"},
            )
            _ping_after_idle(engine)
        _engines[database_url] = engine
        return engine


def get_session_factory(engine: Engine) -> sessionmaker[Session]:
    key = str(engine.url)
    with _lock:
        factory = _factories.get(key)
        if factory is None:
            # expire_on_commit=False: values stay readable after commit (responses, task results).
            factory = sessionmaker(bind=engine, expire_on_commit=False)
            _factories[key] = factory
        return factory


def dispose_engines() -> None:
    """Drop every pooled connection; called in a child after fork so no socket is shared."""
    with _lock:
        for engine in _engines.values():
            engine.dispose(close=False)


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once this session's outermost transaction has committed.

    Registered inside a savepoint, it is dropped if that savepoint rolls back.
    """
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_AFTER_COMMIT_KEY, []).append((transaction, callback))


def _within(transaction, ended) -> bool:  # SessionTransaction objects
    while transaction is not None:
        if transaction is ended:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    # SQLAlchemy also fires after_commit when a savepoint is released; the data is durable only
    # once the outermost transaction has committed.
    if session.in_nested_transaction():
        return
    callbacks = session.info.pop(_AFTER_COMMIT_KEY, [])
    for _transaction, callback in callbacks:
        try:
            callback()
        except Exception:
            # The data is committed; a failed follow-up (broker down) is repaired by the
            # reconciler, which re-sends work PostgreSQL still records as queued.
            logger.exception("after-commit callback failed")


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_AFTER_COMMIT_KEY, None)  # the whole unit of work is undone
        return
    pending = session.info.get(_AFTER_COMMIT_KEY)
    if pending:
        session.info[_AFTER_COMMIT_KEY] = [
            (transaction, callback) for transaction, callback in pending if not _within(transaction, previous_transaction)
        ]


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error, always close."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
