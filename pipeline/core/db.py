"""The pipeline's way to the database: the one unit-of-work primitive, and chunked writes built on it.

A unit of work is a session committed once at its end (rolled back on error). Pipeline functions
take a session (their caller owns the transaction) or a unit-of-work factory; nothing else in
``pipeline`` commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from models.session import get_engine, get_session_factory, session_scope
from pipeline.core.settings import Settings, get_settings

T = TypeVar("T")


def engine(settings: Settings | None = None) -> Engine:
    s = settings or get_settings()
    return get_engine(s.database_url, pool_size=s.database_pool_size, max_overflow=s.database_max_overflow)


def session_factory(settings: Settings | None = None) -> sessionmaker[Session]:
    return get_session_factory(engine(settings))


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work from ``factory``: committed once at the end, rolled back on error."""
    with session_scope(factory) as session:
        yield session


def unit_of_work(settings: Settings | None = None) -> AbstractContextManager[Session]:
    """A unit of work on the configured database (for tasks and commands)."""
    return transaction(session_factory(settings))


def commit_in_chunks(
    *,
    factory: sessionmaker[Session],
    items: Iterable[T],
    chunk_size: int,
    write: Callable[[Session, list[T]], None],
) -> int:
    """Feed items to ``write`` in chunks, each chunk one committed unit of work.

    For long-running writers that must not hold one giant transaction.
    """
    chunk: list[T] = []
    chunks = 0
    for item in items:
        chunk.append(item)
        if len(chunk) >= chunk_size:
            with transaction(factory) as session:
                write(session, chunk)
            chunks += 1
            chunk = []
    if chunk:
        with transaction(factory) as session:
            write(session, chunk)
        chunks += 1
    return chunks
