"""Batches: bulk extraction of many contracts on the bulk queue, and its progress."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api import db as api_db
from api.auth import roles
from api.batches.schemas import EXAMPLE_BATCH, BatchAcceptedSchema, BatchSchema, CreateBatchSchema
from api.common import parse_id
from api.current import settings
from pipeline.batches import service as batches
from pipeline.core import db
from pipeline.core.logs import get_request_id
from pipeline.identity.roles import OPERATORS

blp = Blueprint("batches", __name__, description="Bulk extraction: one background job per contract on the bulk queue.")


@blp.route("")
class Batches(MethodView):
    @roles(*OPERATORS)
    @blp.arguments(CreateBatchSchema, example={"all_unextracted": True})
    @blp.response(202, BatchAcceptedSchema, example={**EXAMPLE_BATCH, "status": "running", "queued": 4980, "running": 0, "succeeded": 0, "failed": 0, "done": 0, "percent": 0.0, "location": "/api/v1/batches/7c1e4b2a-3d5f-4e6a-9b8c-0d1e2f3a4b5c"},
                  headers={"Location": {"description": "the batch to follow", "schema": {"type": "string"}}})
    @blp.alt_response(422, description="Neither or both of contract_ids and all_unextracted; a malformed id; an unknown or unconfigured provider; ids that name no contract (listed in details, nothing created).")
    def post(self, body):
        """Extract many contracts

        One extraction job per contract, on the `bulk` queue, so agents' interactive work is not
        held up. Contracts that already have an extraction, or a job queued or running, are
        skipped and counted. The jobs are written in chunks of `BATCH_CHUNK_SIZE`, each its own
        transaction, and sent as each chunk commits. With `all_unextracted` a worker writes them
        (the batch is `queued` with no jobs yet when this answers); a list of ids is written
        before the answer (the request body is limited by `MAX_REQUEST_BYTES`; longer lists go
        through `flask batch extract --file`). Answers 202 with the batch (`Location` to follow it).
        """
        s = settings()
        if body.get("all_unextracted") and body.get("contract_ids") is None:
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
