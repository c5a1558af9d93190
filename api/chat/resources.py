"""Chat: ask about a contract (a background job), read a session's history."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api import db as api_db
from api.auth import roles
from api.chat.schemas import ChatAcceptedSchema, ChatRequestSchema, SessionSchema
from api.common import parse_id
from api.current import settings
from pipeline.chat import service
from pipeline.core.logs import get_request_id
from pipeline.identity.roles import AGENTS
from pipeline.jobs import status as job_status

blp = Blueprint("chat", __name__, description="Ask questions about a contract; answers cite the passages they use.")

EXAMPLE_RESULT = {
    "response": 'The cancellation fee is $50.00. (approved by a reviewer) The contract says: "A cancellation fee of $50.00 will be deducted from any refund."',
    "sources": [{"quote": "A cancellation fee of $50.00 will be deducted from any refund.", "start": 1710, "end": 1772}],
    "context": {"contract_id": "0b6c3f0e-2f6a-4c36-9d0e-6c1f4f6f8a11", "account_number": "4350948342", "customer_name": "Maria Lopez",
                "extraction_status": "approved"},
    "session_id": "7a4e1c2b-5d6f-4a8b-9c0d-1e2f3a4b5c6d", "message_id": "2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e",
    "answered": True, "provider": "local", "model": "local-retrieval-v1",
}


@blp.route("")
class Chat(MethodView):
    @roles(*AGENTS)
    @blp.arguments(ChatRequestSchema, example={"message": "What is the cancellation fee?", "contract_id": "0b6c3f0e-2f6a-4c36-9d0e-6c1f4f6f8a11"})
    @blp.response(202, ChatAcceptedSchema, headers={"Location": {"description": "the job to poll", "schema": {"type": "string"}}})
    @blp.alt_response(404, description="No such contract or chat session.")
    @blp.alt_response(422, description="The message is empty or too long, or an id is not a UUID.")
    def post(self, body):
        """Ask a question about a contract

        Stores the message and starts a background job on the `interactive` queue (202; poll
        `Location` or follow `events`). Without `session_id` a session is started; send its id
        with the next message. The job's `result` is `{response, sources: [{quote, start, end}],
        context: {contract_id, extraction_status, ...}, session_id, message_id, answered,
        provider, model}`, plus `contract_switch` when the message named an account number
        whose contract the session moved to, or `account_lookup` when no contract has it. Every
        source is a passage of the contract's text at those offsets. A job whose providers all
        failed ends `failed` with the reason; the question stays in the session. Audited as `chat`.
        """
        asked = service.ask(
            session=api_db.session(),
            settings=settings(),
            message=body["message"],
            contract_id=body.get("contract_id"),
            session_id=body.get("session_id"),
            history=body.get("history"),
            request_id=get_request_id(),
        )
        location = f"/api/v1/jobs/{asked.job.id}"
        state = {
            **job_status.as_dict(asked.job), "location": location, "events": f"{location}/events",
            "session_id": str(asked.session_id), "message_id": str(asked.message_id),
        }
        return state, 202, {"Location": location}


@blp.route("/sessions/<session_id>")
class ChatSession(MethodView):
    @roles(*AGENTS)
    @blp.response(200, SessionSchema, example={
        "session_id": "7a4e1c2b-5d6f-4a8b-9c0d-1e2f3a4b5c6d", "contract_id": "0b6c3f0e-2f6a-4c36-9d0e-6c1f4f6f8a11",
        "messages": [
            {"message_id": "1a2b...", "role": "user", "content": "What is the cancellation fee?", "sources": [],
             "contract_id": "0b6c3f0e-2f6a-4c36-9d0e-6c1f4f6f8a11", "job_id": "3f0c...", "created_at": "2026-11-28T09:00:00+00:00"},
            {"message_id": "2b3c...", "role": "assistant", "content": EXAMPLE_RESULT["response"], "sources": EXAMPLE_RESULT["sources"],
             "contract_id": "0b6c3f0e-2f6a-4c36-9d0e-6c1f4f6f8a11", "job_id": "3f0c...", "created_at": "2026-11-28T09:00:01+00:00"},
        ],
    })
    @blp.alt_response(404, description="No chat session has this id.")
    @blp.alt_response(422, description="The id is not a UUID.")
    def get(self, session_id):
        """Read a chat session's history

        Every message, oldest first, with the sources of each answer. Sessions stay in Redis for
        CACHE_TTL_CHAT_SESSION after their last use; an older one is rebuilt from PostgreSQL,
        which keeps every message.
        """
        return service.conversation(session=api_db.session(), settings=settings(), session_id=parse_id(session_id, "session_id"))
