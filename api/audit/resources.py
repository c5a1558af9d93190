"""Audit trails: who did what to a contract or an extraction, newest first."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api import db as api_db
from api.audit.schemas import AuditEventSchema, TrailQuerySchema
from api.auth import roles
from api.common import parse_id
from api.middleware import audit_without_subject
from pipeline import audit
from pipeline.identity.roles import AUDITORS

blp = Blueprint("audit", __name__, description="The append-only audit trail of contracts and extractions.")
# Reading a trail is audited, but not onto the trail it reads (page 2 must not shift under the reader).
blp.before_request(audit_without_subject)

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200

EXAMPLE_TRAIL = [
    {"id": 42, "event_type": "approve", "created_at": "2026-11-28T09:04:12+00:00", "user_id": None,
     "contract_id": "0b6c3f0e-2f6a-4c36-9d0e-6c1f4f6f8a11", "extraction_id": "5d1f9a3e-8b7c-4e2a-9f1d-3c2b1a0e9d8c",
     "request_id": "9f2c0d51a3b84e0f", "event_data": {"corrections": [{"field": "cancellation_fee", "original": "50.00", "corrected": "75.00", "reason": "section 4"}],
                                                     "confirmed": [], "notes": None}},
    {"id": 17, "event_type": "extract", "created_at": "2026-11-28T09:00:01+00:00", "user_id": None,
     "contract_id": "0b6c3f0e-2f6a-4c36-9d0e-6c1f4f6f8a11", "extraction_id": "5d1f9a3e-8b7c-4e2a-9f1d-3c2b1a0e9d8c",
     "request_id": "3b7d...", "event_data": {"outcome": "succeeded", "provider": "openai"}},
]


def _filters(query: dict) -> audit.TrailFilter:
    return audit.TrailFilter(tuple(t.strip() for t in query["event_type"] if t.strip()), query["since"], query["until"])


def _answer(events, total, pagination_parameters):
    pagination_parameters.item_count = total
    return [audit.as_dict(e) for e in events]


@blp.route("/contract/<contract_id>")
class ContractTrail(MethodView):
    @roles(*AUDITORS)
    @blp.arguments(TrailQuerySchema, location="query")
    @blp.response(200, AuditEventSchema(many=True), example=EXAMPLE_TRAIL)
    @blp.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
    @blp.alt_response(404, description="No contract has this id.")
    @blp.alt_response(422, description="The id is not a UUID, an event type is unknown, a time is malformed, or since is not before until.")
    def get(self, query, contract_id, pagination_parameters):
        """Read a contract's audit trail

        Every event about the contract (searches, views, extractions, approvals, chats, API
        requests), newest first. Filter with `event_type` (comma-separated) and the time range
        `since` (inclusive) to `until` (exclusive); page with `page` and `page_size`, the totals
        are in the `X-Pagination` header.
        """
        events, total = audit.contract_trail(
            session=api_db.session(),
            contract_id=parse_id(contract_id),
            filters=_filters(query),
            page=pagination_parameters.page,
            page_size=pagination_parameters.page_size,
        )
        return _answer(events, total, pagination_parameters)


@blp.route("/extraction/<extraction_id>")
class ExtractionTrail(MethodView):
    @roles(*AUDITORS)
    @blp.arguments(TrailQuerySchema, location="query")
    @blp.response(200, AuditEventSchema(many=True), example=EXAMPLE_TRAIL)
    @blp.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
    @blp.alt_response(404, description="No extraction has this id.")
    @blp.alt_response(422, description="The id is not a UUID, an event type is unknown, a time is malformed, or since is not before until.")
    def get(self, query, extraction_id, pagination_parameters):
        """Read an extraction's audit trail

        Every event about the extraction (its extraction, views, approval with the corrections,
        API requests), newest first, with the same filters and paging as the contract's trail.
        """
        events, total = audit.extraction_trail(
            session=api_db.session(),
            extraction_id=parse_id(extraction_id, "extraction_id"),
            filters=_filters(query),
            page=pagination_parameters.page,
            page_size=pagination_parameters.page_size,
        )
        return _answer(events, total, pagination_parameters)
