"""Batches: bulk extraction of many contracts, or portfolio refund quotes, on the bulk queue; their
progress, and a quote batch's results as CSV."""

from __future__ import annotations

from flask import Response, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint

from api import db as api_db
from api.auth import roles
from api.batches.schemas import (
    EXAMPLE_BATCH,
    BatchAcceptedSchema,
    BatchListArgsSchema,
    BatchSchema,
    BatchSummarySchema,
    CreateBatchSchema,
)
from api.common import parse_id
from api.current import settings
from pipeline.batches import exports as batch_exports
from pipeline.batches import quotes as portfolio
from pipeline.batches import service as batches
from pipeline.core import db
from pipeline.core.logs import get_request_id
from pipeline.identity.roles import OPERATORS

blp = Blueprint("batches", __name__, description="Bulk work on the bulk queue: extraction (one job per contract) or refund quotes (one job per cancellation).")


@blp.route("")
class Batches(MethodView):
    @roles(*OPERATORS)
    @blp.arguments(BatchListArgsSchema, location="query")
    @blp.response(200, BatchSummarySchema(many=True))
    @blp.paginate(page_size=20, max_page_size=100)
    @blp.alt_response(422, description="An unknown status, or a bad page or page_size.")
    def get(self, args, pagination_parameters):
        """List batches

        Newest first, each with its jobs counted by status; paginated (`page`, `page_size`;
        totals in the `X-Pagination` header). `GET /batches/{id}` adds throughput, ETA and failures.
        """
        page = batches.get_all(session=api_db.session(), offset=pagination_parameters.first_item, limit=pagination_parameters.page_size, status=args.get("status"))
        pagination_parameters.item_count = page.total
        return page.items

    @roles(*OPERATORS)
    @blp.arguments(CreateBatchSchema, example={"all_unextracted": True})
    @blp.response(202, BatchAcceptedSchema, example={**EXAMPLE_BATCH, "status": "running", "queued": 4980, "running": 0, "succeeded": 0, "failed": 0, "done": 0, "percent": 0.0, "location": "/api/v1/batches/7c1e4b2a-3d5f-4e6a-9b8c-0d1e2f3a4b5c"},
                  headers={"Location": {"description": "the batch to follow", "schema": {"type": "string"}}})
    @blp.alt_response(422, description="Not exactly one of contract_ids, account_numbers and all_unextracted; a malformed id or account number; account numbers that name no contract; an unknown or unconfigured provider; ids that name no contract (listed in details, nothing created). For refund quotes: no cancellations, a malformed row, or rows that name no contract (listed in details.rows, nothing created).")
    def post(self, body):
        """Extract many contracts, or quote many cancellations

        The contracts by id (`contract_ids`), by account number (`account_numbers`) or every one
        not yet extracted (`all_unextracted`). One extraction job per contract, on the `bulk` queue, so agents' interactive work is not
        held up. Contracts that already have an extraction, or a job queued or running, are
        skipped and counted. The jobs are written in chunks of `BATCH_CHUNK_SIZE`, each its own
        transaction, and sent as each chunk commits. With `all_unextracted` a worker writes them
        (the batch is `queued` with no jobs yet when this answers); a list of ids is written
        before the answer (the request body is limited by `MAX_REQUEST_BYTES`; longer lists go
        through `flask batch extract --file`). Answers 202 with the batch (`Location` to follow it).

        With `{"kind": "refund_quote", "cancellations": [{"contract_id", "cancellation_date",
        "reason", "claim_paid"?}]}`: one refund-quote job per cancellation on the `bulk` queue
        (long lists: `flask batch quote FILE.csv`). A quote that cannot be made (no extraction, no
        start date) fails its job with the reason; the results are at `quotes.csv`.
        """
        s = settings()
        if body.get("account_numbers") is not None:
            body["contract_ids"] = batches.contract_ids_for_accounts(session=api_db.session(), account_numbers=body["account_numbers"], chunk_size=s.batch_chunk_size)
        if body["kind"] == portfolio.KIND:
            rows = [portfolio.Cancellation(row=index, **item) for index, item in enumerate(body["cancellations"], start=1)]
            batch_id = portfolio.create(factory=db.session_factory(s), settings=s, cancellations=rows, request_id=get_request_id()).batch_id
        elif body.get("all_unextracted") and body.get("contract_ids") is None:
            # However many contracts wait, a worker writes their jobs: the answer comes at once.
            batch_id = batches.start_unextracted(session=api_db.session(), settings=s, provider=body.get("provider"), request_id=get_request_id()).id
        else:
            batch_id = batches.create(
                factory=db.session_factory(s),
                settings=s,
                contract_ids=body.get("contract_ids"),
                all_unextracted=bool(body.get("all_unextracted")),
                provider=body.get("provider"),
                request_id=get_request_id(),
            ).batch_id
        state = batches.progress(session=api_db.session(), batch_id=batch_id)
        location = f"/api/v1/batches/{batch_id}"
        return {**state, "location": location}, 202, {"Location": location}


@blp.route("/<batch_id>")
class BatchById(MethodView):
    @roles(*OPERATORS)
    @blp.response(200, BatchSchema, example=EXAMPLE_BATCH)
    @blp.alt_response(404, description="No batch has this id.")
    @blp.alt_response(422, description="The id is not a UUID.")
    def get(self, batch_id):
        """Follow a batch

        Counts of its jobs by status (read from the jobs table, so they stay right when the
        reconciler re-queues a job), when it started and finished, throughput and an estimate of
        the time left, and its failures with their reasons.
        """
        return batches.progress(session=api_db.session(), batch_id=parse_id(batch_id, "batch_id"))


@blp.route("/<batch_id>/quotes.csv")
class BatchQuotes(MethodView):
    @roles(*OPERATORS)
    @blp.response(200, {"type": "string"}, content_type="text/csv",
                  description="One row per cancellation, in the order given: the request, the job's status, the quote's figures (or the error).",
                  headers={"Content-Disposition": {"description": 'attachment; filename="refund-quotes-BATCH.csv"', "schema": {"type": "string"}}})
    @blp.alt_response(404, description="No batch has this id, or it is not a refund-quote batch.")
    @blp.alt_response(422, description="The id is not a UUID.")
    def get(self, batch_id):
        """Download a quote batch's results

        Streamed as CSV (`row, contract_id, account_number, cancellation_date, reason, claim_paid,
        status, quote_id, eligible, reason_code, refund, gross_refund, fee_applied, method, factor,
        rules_version, warnings, error`); rows whose job has not finished show its status. Ready
        when the batch is `completed`.
        """
        key = parse_id(batch_id, "batch_id")
        portfolio.get_quote_batch_or_raise(session=api_db.session(), batch_id=key)
        chunks = portfolio.results_csv(factory=db.session_factory(settings()), batch_id=key)
        response = Response(stream_with_context(chunks), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="refund-quotes-{key}.csv"'
        return response


@blp.route("/<batch_id>/results.csv")
class BatchResults(MethodView):
    @roles(*OPERATORS)
    @blp.response(200, {"type": "string"}, description="`text/csv`, streamed: a header, then one line per contract of the batch, by account number: "
                  "account_number, contract_id, status (of its job), extraction_status, each field's value, confidence and badge, error.",
                  content_type="text/csv")
    @blp.alt_response(404, description="No batch has this id.")
    @blp.alt_response(422, description="The id is not a UUID.")
    def get(self, batch_id):
        """Download a batch's results

        One line per contract given a job (skipped contracts have none), written as it is read
        from the database, so a batch of any size streams. A contract whose job failed has its
        error and no values.
        """
        key = parse_id(batch_id, "batch_id")
        batches.get_or_raise(session=api_db.session(), batch_id=key)
        s = settings()
        lines = batch_exports.results_csv(factory=db.session_factory(s), settings=s, batch_id=key)
        response = Response(stream_with_context(lines), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="batch-{key}.csv"'
        response.headers["Cache-Control"] = "no-store"
        return response
