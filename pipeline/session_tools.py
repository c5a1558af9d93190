"""Helpers for long-running writers that must not hold one giant transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from models.session import session_scope

T = TypeVar("T")


def commit_in_chunks(
    *,
    factory: sessionmaker[Session],
    items: Iterable[T],
    chunk_size: int,
    write: Callable[[Session, list[T]], None],
) -> int:
    """Feed items to ``write`` in chunks, each chunk one committed unit of work."""
    chunk: list[T] = []
    chunks = 0
    for item in items:
        chunk.append(item)
        if len(chunk) >= chunk_size:
            with session_scope(factory) as session:
                write(session, chunk)
            chunks += 1
            chunk = []
    if chunk:
        with session_scope(factory) as session:
            write(session, chunk)
        chunks += 1
    return chunks

