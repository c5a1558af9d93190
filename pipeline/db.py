"""The pipeline's way to the database: engine and units of work for the configured URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from models.session import get_engine, get_session_factory, session_scope
from pipeline.settings import Settings, get_settings


def engine(settings: Settings | None = None) -> Engine:
    s = settings or get_settings()
    return get_engine(s.database_url, pool_size=s.database_pool_size, max_overflow=s.database_max_overflow)


def session_factory(settings: Settings | None = None) -> sessionmaker[Session]:
    return get_session_factory(engine(settings))


@contextmanager
def unit_of_work(settings: Settings | None = None) -> Iterator[Session]:
    """A session committed once at the end (for tasks and commands)."""
    with session_scope(session_factory(settings)) as session:
        yield session
