"""Request and response bodies of the chat resource."""

import marshmallow as ma

from api.current import settings
from api.jobs.schemas import JobAcceptedSchema

MAX_HISTORY_TURNS = 100


def _check_text(value: str) -> None:
    if not value.strip():
        raise ma.ValidationError("Must not be empty.")
    limit = settings().chat_max_message_chars
    if len(value) > limit:
        raise ma.ValidationError(f"Must be at most {limit} characters (CHAT_MAX_MESSAGE_CHARS); got {len(value)}.")


class HistoryTurnSchema(ma.Schema):
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(["user", "assistant"]))
    content = ma.fields.String(required=True, validate=_check_text, metadata={"minLength": 1, "pattern": "\\S"})


class ChatRequestSchema(ma.Schema):
    message = ma.fields.String(
        required=True, validate=_check_text,
        metadata={"minLength": 1, "pattern": "\\S",
                  "description": "the agent's question or an account number to open (at most CHAT_MAX_MESSAGE_CHARS characters)",
                  "example": "What is the cancellation fee?"},
    )
    contract_id = ma.fields.UUID(allow_none=True, load_default=None, metadata={"description": "the contract to talk about; switches the session to it"})
    session_id = ma.fields.UUID(allow_none=True, load_default=None, metadata={"description": "continue this session; omit to start one"})
    history = ma.fields.List(
        ma.fields.Nested(HistoryTurnSchema), load_default=None, allow_none=True,
        validate=ma.validate.Length(max=MAX_HISTORY_TURNS),
        metadata={"description": "earlier turns kept by the client; they seed a session that has no stored messages"},
    )


class ChatAcceptedSchema(JobAcceptedSchema):
    session_id = ma.fields.String(metadata={"format": "uuid", "description": "send it with the next message"})
    message_id = ma.fields.String(metadata={"format": "uuid", "description": "the stored question"})


class ChatSourceSchema(ma.Schema):
    quote = ma.fields.String()
    start = ma.fields.Integer()
    end = ma.fields.Integer()


class MessageSchema(ma.Schema):
    message_id = ma.fields.String(metadata={"format": "uuid"})
    role = ma.fields.String(metadata={"enum": ["user", "assistant", "system"]})
    content = ma.fields.String()
    sources = ma.fields.List(ma.fields.Nested(ChatSourceSchema), metadata={"description": "passages of the document the answer quotes, with offsets"})
    contract_id = ma.fields.String(allow_none=True, metadata={"format": "uuid"})
    job_id = ma.fields.String(allow_none=True, metadata={"format": "uuid"})
    created_at = ma.fields.String(metadata={"format": "date-time"})


class SessionSchema(ma.Schema):
    session_id = ma.fields.String(metadata={"format": "uuid"})
    contract_id = ma.fields.String(allow_none=True, metadata={"format": "uuid", "description": "the contract the session is about now"})
    messages = ma.fields.List(ma.fields.Nested(MessageSchema))
