"""Extractions: ask for one (a background job), read one."""

from __future__ import annotations

from flask import jsonify
from flask.views import MethodView
from flask_smorest import Blueprint

from api import auth
from api import db as api_db
from api.auth import roles
from api.common import parse_id
from api.current import settings
from api.extractions.schemas import (
    CreateSchema,
    ExtractionSchema,
    QueueArgsSchema,
    QueueItemSchema,
    SubmitSchema,
    SubmittedSchema,
)
from api.jobs.schemas import JobAcceptedSchema
from pipeline import audit
from pipeline.core.cache import get_cache
from pipeline.core.logs import get_request_id
from pipeline.extraction import queue as review_queue
from pipeline.extraction import review
from pipeline.extraction import service as extraction
from pipeline.identity.roles import AGENTS
from pipeline.jobs import status as job_status

blp = Blueprint("extractions", __name__, description="Extract the GAP premium, refund method and cancellation fee from a contract.")

FIELD_EXAMPLE = {
    "value": "795.00",
    "confidence": 0.93,
    "badge": "high",
    "source": {"quote": "The GAP charge for this Waiver is $795.00", "start": 412, "end": 453},
    "flags": [],
}


@blp.route("")
class Extractions(MethodView):
    @roles(*AGENTS)
    @blp.arguments(QueueArgsSchema, location="query")
    @blp.response(200, QueueItemSchema(many=True))
    @blp.paginate(page_size=50, max_page_size=200)
    @blp.alt_response(422, description="An unknown status, badge, field or sort; a confidence outside 0 to 1; a malformed batch id or time; a bad page or page_size.")
    def get(self, args, pagination_parameters):
        """List extractions (the review queue)

        Least confident first by default: an extraction's confidence is its least confident
        field's, or `field`'s when given, and its badge is that confidence's. Filter by `status`
        (`pending` is the queue), `badge`, `max_confidence`, `batch_id` and age (`created_before`,
        `created_after`); sort by `confidence`, `-confidence`, `created_at` or `-created_at`.
        Paginated (`page`, `page_size`; totals in the `X-Pagination` header). Open an item with
        `GET /extractions/{id}` for its passages.
        """
        filters = review_queue.QueueFilter(**args)
        page = review_queue.get_all(
            session=api_db.session(), settings=settings(), filters=filters,
            offset=pagination_parameters.first_item, limit=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = page.total
        return page.items


@blp.route("/create")
class Create(MethodView):
    @roles(*AGENTS)
    @blp.arguments(CreateSchema, example={"contract_id": "0b6c3f0e-2f6a-4c36-9d0e-6c1f4f6f8a11"})
    @blp.response(202, JobAcceptedSchema, headers={"Location": {"description": "the job to poll", "schema": {"type": "string"}}})
    @blp.alt_response(200, schema=ExtractionSchema, description="The contract already has an extraction: here it is, no job started.")
    @blp.alt_response(404, description="No contract has this id.")
    @blp.alt_response(422, description="contract_id is missing or not a UUID.")
    def post(self, body):
        """Extract a contract's refund terms

        Starts a background job (202, `Location` to poll, `events` to subscribe). If the contract
        already has an extraction, answers 200 with it; if a job for the contract is already
        queued or running, answers 202 with that same job, so double clicks start nothing twice.
        """
        session = api_db.session()
        outcome = extraction.request(session=session, contract_id=body["contract_id"], request_id=get_request_id())
        if outcome.extraction is not None:
            response = jsonify(ExtractionSchema().dump(extraction.detail(session=session, extraction=outcome.extraction, settings=settings())))
            response.status_code = 200
            return response
        job = outcome.job
        state = job_status.as_dict(job)
        location = f"/api/v1/jobs/{job.id}"
        return {**state, "location": location, "events": f"{location}/events"}, 202, {"Location": location}


@blp.route("/<extraction_id>")
class ExtractionById(MethodView):
    @roles(*AGENTS)
    @blp.response(200, ExtractionSchema, example={
        "extraction_id": "5d1f9a3e-8b7c-4e2a-9f1d-3c2b1a0e9d8c", "contract_id": "0b6c3f0e-2f6a-4c36-9d0e-6c1f4f6f8a11",
        "status": "pending",
        "fields": {"gap_insurance_premium": FIELD_EXAMPLE,
                   "refund_calculation_method": {**FIELD_EXAMPLE, "value": "pro_rata", "source": {"quote": "refunded on a pro rata basis", "start": 980, "end": 1008}},
                   "cancellation_fee": {"value": None, "confidence": 0.2, "badge": "low", "source": None, "flags": ["not_stated"]}},
        "provider": "openai", "model": "gpt-4o-mini", "prompt_tokens": 1830, "completion_tokens": 142, "cost_usd": "0.000360",
        "latency_ms": 1480, "approved_at": None, "approved_by": None, "notes": None,
        "created_at": "2026-11-28T09:00:01+00:00", "updated_at": "2026-11-28T09:00:01+00:00",
        "audit_trail": [{"event_type": "extract", "created_at": "2026-11-28T09:00:01+00:00", "user_id": None, "request_id": "9f2c...", "event_data": {"outcome": "succeeded", "provider": "openai"}}],
    })
    @blp.alt_response(404, description="No extraction has this id.")
    @blp.alt_response(422, description="The id is not a UUID.")
    def get(self, extraction_id):
        """Read an extraction

        Per field: the value, its confidence and badge (high / medium / low, thresholds
        CONFIDENCE_HIGH and CONFIDENCE_MEDIUM), the passage it came from with its offsets in the
        contract's text, and flags when it needs a closer look. Also the provider, model, tokens,
        cost, latency, status and the audit trail. Audited as `view`.
        """
        session = api_db.session()
        found = extraction.get_or_raise(session=session, extraction_id=parse_id(extraction_id, "extraction_id"))
        audit.record(session=session, event_type="view", contract_id=found.contract_id, extraction_id=found.id, data={"what": "extraction"})
        session.flush()
        return extraction.detail(session=session, extraction=found, settings=settings())


@blp.route("/<extraction_id>/submit")
class Submit(MethodView):
    @roles(*AGENTS)
    @blp.arguments(SubmitSchema, example={
        "corrections": [{"field_name": "cancellation_fee", "corrected_value": "$75", "correction_reason": "The fee is $75 in section 4."}],
        "notes": "Checked against the signed addendum.",
    })
    @blp.response(200, SubmittedSchema)
    @blp.alt_response(404, description="No extraction has this id.")
    @blp.alt_response(409, description="The extraction is already approved (also the loser of two submits at once).")
    @blp.alt_response(422, description="A correction names an unknown field or a field twice, or its value is empty, unreadable, negative or an unknown method; `details` names each.")
    def post(self, body, extraction_id):
        """Correct and approve an extraction

        One action for the reviewer: every correction overwrites its field (confidence 1.0,
        source `reviewer`) and is kept with the original value, and the extraction becomes
        `approved`; no corrections is a plain approval. Values are made canonical ("$1,095" is
        "1095.00", "Rule of 78s" is `rule_of_78`). All of it, with the `approve` audit event,
        happens at once or not at all: a refused submit changes nothing.
        """
        s = settings()
        session = api_db.session()
        approved, corrections = review.submit(
            session=session,
            extraction_id=parse_id(extraction_id, "extraction_id"),
            corrections=body["corrections"],
            notes=body.get("notes"),
            cache=get_cache(s),
            user_id=auth.current_user_id(),
        )
        return {**extraction.detail(session=session, extraction=approved, settings=s), "corrections": review.corrections_view(corrections)}
