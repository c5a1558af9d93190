"""Chat, the API's side: take an agent's message and queue its answer (``pipeline.chat.job``).

Asking writes, in the request's one transaction, the user's message (and, for a new session, any
history the client sent), a queued chat job and a `chat` audit event; the job is sent and the
Redis session updated only after commit.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy.orm import Session

from models import ChatMessage, Job
from models.session import after_commit
from pipeline import audit
from pipeline.chat import sessions
from pipeline.chat.job import CHAT
from pipeline.contracts import service as contracts
from pipeline.core.errors import NotFound
from pipeline.core.logs import get_user_id
from pipeline.core.settings import Settings
from pipeline.jobs import lifecycle as jobs

logger = logging.getLogger(__name__)

@dataclass
class Asked:
    job: Job
    session_id: uuid.UUID
    message_id: uuid.UUID


# --- asking (the API's side) ---------------------------------------------------------------------


def ask(
    *,
    session: Session,
    settings: Settings,
    message: str,
    contract_id: uuid.UUID | None = None,
    session_id: uuid.UUID | None = None,
    history: list[dict[str, str]] | None = None,
    provider: str | None = None,
    request_id: str | None = None,
) -> Asked:
    """Store the user's message and queue the job that answers it (sent after commit).

    Raises NotFound for an unknown session or contract. A client-sent ``history`` (earlier turns
    it kept itself) seeds a session that has no stored messages and is stored with it; a session
    with stored messages keeps its own.
    """
    store = sessions.get_store(settings)
    if session_id is not None:
        chat = sessions.load(session=session, store=store, session_id=session_id)
        if chat is None:
            raise NotFound(f"chat session {session_id} does not exist")
    else:
        chat = sessions.ChatSession(session_id=uuid.uuid4())
    if contract_id is not None:
        contracts.get_or_raise(session=session, contract_id=contract_id)
        chat.contract_id = contract_id

    now = datetime.now(timezone.utc)
    new_rows: list[ChatMessage] = []
    if history and not chat.messages:
        for index, turn in enumerate(history):
            # Explicit, increasing timestamps: the order of the turns is the order of the rows.
            new_rows.append(ChatMessage(
                session_id=chat.session_id, contract_id=chat.contract_id, role=turn["role"], content=turn["content"],
                user_id=get_user_id() if turn["role"] == "user" else None, created_at=now - timedelta(microseconds=len(history) - index),
            ))

    # Registered before the job's own after-commit send, so the session holds the question by
    # the time a worker reads it; filled in below, once the rows exist.
    cached_messages: list[dict[str, Any]] = []
    after_commit(session, lambda: _cache_turn(store, chat, cached_messages))

    message_id = uuid.uuid4()
    payload: dict[str, Any] = {"session_id": str(chat.session_id), "message_id": str(message_id)}
    if provider:
        payload["provider"] = provider
    job = jobs.create(session=session, kind=CHAT, contract_id=chat.contract_id, payload=payload, request_id=request_id)
    new_rows.append(ChatMessage(
        id=message_id, session_id=chat.session_id, contract_id=chat.contract_id, job_id=job.id, role="user", content=message, user_id=get_user_id(), created_at=now,
    ))
    session.add_all(new_rows)
    session.flush()
    cached_messages.extend(sessions.message_dict(row) for row in new_rows)
    audit.record(
        session=session,
        event_type="chat",
        contract_id=chat.contract_id,
        request_id=request_id,
        data={
            "outcome": "asked", "session_id": str(chat.session_id), "message_id": str(message_id), "job_id": str(job.id),
            "chars": len(message), "history_seeded": len(new_rows) - 1,
        },
    )
    return Asked(job=job, session_id=chat.session_id, message_id=message_id)


def _cache_turn(store: sessions.SessionStore, chat: sessions.ChatSession, messages: list[dict[str, Any]]) -> None:
    if chat.cached:
        for message in messages:
            store.append(chat.session_id, message, contract_id=chat.contract_id)
        return
    chat.messages.extend(messages)
    store.save(chat)


def conversation(*, session: Session, settings: Settings, session_id: uuid.UUID) -> dict[str, Any]:
    """A session's history, oldest first; NotFound when it has no message."""
    chat = sessions.load(session=session, store=sessions.get_store(settings), session_id=session_id)
    if chat is None:
        raise NotFound(f"chat session {session_id} does not exist")
    return {
        "session_id": str(chat.session_id),
        "contract_id": str(chat.contract_id) if chat.contract_id else None,
        "messages": chat.messages,
    }
