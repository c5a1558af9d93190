"""Chat sessions: the live copy in Redis with a sliding TTL, the truth in chat_messages.

A session is its messages and its current contract. Redis keeps them under two keys (the
contract id as a string, the messages as a list of JSON objects) for CACHE_TTL_CHAT_SESSION
seconds after the session was last used: every read and every new message pushes the expiry
back. Appending is one Lua script, so messages of turns in flight at once are never lost and a
session that expired meanwhile is not half re-created.

Expiry loses nothing: every message is also a row of chat_messages, written in the transaction
of the request (the question) or of the job (the answer). A session Redis no longer holds is
rebuilt from PostgreSQL and cached again, so an agent who comes back after the TTL carries on
with the whole history. Without Redis (the embedded default) every read is such a rebuild.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ChatMessage
from pipeline.core.cache import redis_client
from pipeline.core.formatting import iso_utc
from pipeline.core.settings import Settings

logger = logging.getLogger(__name__)

_APPEND = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[1])
if ARGV[2] ~= '' then redis.call('SET', KEYS[1], ARGV[2]) end
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
"""
_NO_CONTRACT = "-"


@dataclass
class ChatSession:
    session_id: uuid.UUID
    contract_id: uuid.UUID | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    cached: bool = False
    """True when read from Redis (new messages are appended there), False when built here."""


def message_dict(row: ChatMessage) -> dict[str, Any]:
    """A message as the session (and the API) shows it."""
    return {
        "message_id": str(row.id),
        "role": row.role,
        "content": row.content,
        "sources": row.sources or [],
        "contract_id": str(row.contract_id) if row.contract_id else None,
        "job_id": str(row.job_id) if row.job_id else None,
        "created_at": iso_utc(row.created_at),
    }


def meta_key(session_id: uuid.UUID) -> str:
    return f"chat:session:{session_id}:contract"


def messages_key(session_id: uuid.UUID) -> str:
    return f"chat:session:{session_id}:messages"


class SessionStore(Protocol):
    def load(self, session_id: uuid.UUID) -> ChatSession | None: ...
    def save(self, chat: ChatSession) -> None: ...
    def append(self, session_id: uuid.UUID, message: dict[str, Any], *, contract_id: uuid.UUID | None = None) -> bool: ...


class RedisSessionStore:
    """Sessions in Redis; a Redis error is logged and treated as a miss (PostgreSQL has it all)."""

    def __init__(self, client: redis.Redis, ttl: int) -> None:
        self.client = client
        self.ttl = ttl
        self._append = client.register_script(_APPEND)

    def load(self, session_id: uuid.UUID) -> ChatSession | None:
        try:
            pipe = self.client.pipeline(transaction=True)
            pipe.get(meta_key(session_id))
            pipe.lrange(messages_key(session_id), 0, -1)
            # Sliding expiry: using a session keeps it (no-ops when the keys are gone).
            pipe.expire(meta_key(session_id), self.ttl)
            pipe.expire(messages_key(session_id), self.ttl)
            contract, raw_messages, _, _ = pipe.execute()
        except redis.RedisError as exc:
            logger.warning("chat session read failed, rebuilding from the database: %s", exc)
            return None
        if contract is None:
            return None
        contract = contract.decode()
        return ChatSession(
            session_id=session_id,
            contract_id=uuid.UUID(contract) if contract != _NO_CONTRACT else None,
            messages=[json.loads(item) for item in raw_messages],
            cached=True,
        )

    def save(self, chat: ChatSession) -> None:
        try:
            pipe = self.client.pipeline(transaction=True)
            pipe.delete(messages_key(chat.session_id))
            if chat.messages:
                pipe.rpush(messages_key(chat.session_id), *(json.dumps(m) for m in chat.messages))
                pipe.expire(messages_key(chat.session_id), self.ttl)
            pipe.set(meta_key(chat.session_id), str(chat.contract_id or _NO_CONTRACT), ex=self.ttl)
            pipe.execute()
        except redis.RedisError as exc:
            logger.warning("chat session write failed: %s", exc)

    def append(self, session_id: uuid.UUID, message: dict[str, Any], *, contract_id: uuid.UUID | None = None) -> bool:
        """Add a message (and move the session to ``contract_id`` when given); False when Redis no
        longer holds the session, which the next read then rebuilds from the database."""
        try:
            keys = [meta_key(session_id), messages_key(session_id)]
            return bool(self._append(keys=keys, args=[json.dumps(message), str(contract_id or ""), self.ttl]))
        except redis.RedisError as exc:
            logger.warning("chat session append failed; dropping the cached copy: %s", exc)
            self.forget(session_id)
            return False

    def forget(self, session_id: uuid.UUID) -> None:
        try:
            self.client.delete(meta_key(session_id), messages_key(session_id))
        except redis.RedisError:
            pass  # it expires on its own


class DatabaseOnlyStore:
    """No Redis (the embedded default): nothing cached, every read rebuilds from the database."""

    def load(self, session_id: uuid.UUID) -> ChatSession | None:
        return None

    def save(self, chat: ChatSession) -> None:
        return None

    def append(self, session_id: uuid.UUID, message: dict[str, Any], *, contract_id: uuid.UUID | None = None) -> bool:
        return False


def get_store(settings: Settings) -> SessionStore:
    if settings.redis_url:
        return RedisSessionStore(redis_client(settings.redis_url), settings.cache_ttl_chat_session)
    return DatabaseOnlyStore()


def rebuild(*, session: Session, session_id: uuid.UUID) -> ChatSession | None:
    """The session from chat_messages; None when it has no message at all (no such session)."""
    rows = session.scalars(
        select(ChatMessage).where(ChatMessage.session_id == session_id).order_by(ChatMessage.created_at, ChatMessage.id)
    ).all()
    if not rows:
        return None
    # The current contract: each question's, unless its answer switched to another one.
    asked_about: dict[uuid.UUID | None, uuid.UUID | None] = {}
    contract_id: uuid.UUID | None = None
    for row in rows:
        if row.role == "user":
            contract_id = row.contract_id
            asked_about[row.job_id] = row.contract_id
        elif row.role == "assistant" and row.contract_id != asked_about.get(row.job_id, row.contract_id):
            contract_id = row.contract_id
    return ChatSession(session_id=session_id, contract_id=contract_id, messages=[message_dict(r) for r in rows])


def load(*, session: Session, store: SessionStore, session_id: uuid.UUID, must_hold: str | None = None) -> ChatSession | None:
    """The session from Redis, else rebuilt from the database (and cached again).

    ``must_hold``: a message id the session must contain; a cached copy without it (its append
    was lost) is rebuilt.
    """
    chat = store.load(session_id)
    if chat is not None and (must_hold is None or any(m["message_id"] == must_hold for m in chat.messages)):
        return chat
    chat = rebuild(session=session, session_id=session_id)
    if chat is not None:
        store.save(chat)
    return chat
