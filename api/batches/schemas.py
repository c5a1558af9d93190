import marshmallow as ma

from api.contracts.schemas import AccountNumber
from api.fields import StrictBoolean
from models.job import BATCH_KINDS
from models.refund_quote import REFUND_REASONS
from pipeline.core.settings import LLM_PROVIDERS


class CancellationSchema(ma.Schema):
    contract_id = ma.fields.UUID(required=True, metadata={"description": "the contract to quote"})
    cancellation_date = ma.fields.Date(required=True, metadata={"example": "2026-11-20"})
    reason = ma.fields.String(required=True, validate=ma.validate.OneOf(REFUND_REASONS), metadata={"example": "payoff"})
    claim_paid = StrictBoolean(load_default=False)


class CreateBatchSchema(ma.Schema):
    kind = ma.fields.String(
        load_default="extraction", validate=ma.validate.OneOf(BATCH_KINDS),
        metadata={"description": "extraction (the default): extract contracts; refund_quote: quote a list of cancellations"},
    )
    cancellations = ma.fields.List(
        ma.fields.Nested(CancellationSchema),
        validate=ma.validate.Length(min=1),
        metadata={"description": "with kind refund_quote: one quote job per cancellation (rows naming no contract refuse the whole batch with 422, listed)"},
    )
    contract_ids = ma.fields.List(
        ma.fields.UUID(),
        validate=ma.validate.Length(min=1),
        metadata={"description": "contracts to extract (a repeated id counts once; ids that name no contract refuse the whole batch with 422)"},
    )
    account_numbers = ma.fields.List(
        AccountNumber(),
        validate=ma.validate.Length(min=1),
        metadata={"description": "contracts to extract, by account number (spaces and dashes ignored; numbers that name no contract refuse the whole batch with 422)", "example": ["4350-948-342"]},
    )
    all_unextracted = StrictBoolean(metadata={"description": "true: every contract that has no extraction yet"})
    provider = ma.fields.String(
        validate=ma.validate.OneOf(LLM_PROVIDERS),
        metadata={"description": "provider to ask first (default: LLM_PROVIDER); the fallbacks still apply", "example": "openai"},
    )

    @ma.validates_schema
    def _one_scope(self, data, **_kwargs):
        if data.get("kind") == "refund_quote":
            if "cancellations" not in data:
                raise ma.ValidationError("A refund_quote batch needs its cancellations.", field_name="cancellations")
            extra = sorted({"contract_ids", "account_numbers", "all_unextracted", "provider"} & set(data))
            if extra:
                raise ma.ValidationError(f"A refund_quote batch takes cancellations only, not {', '.join(extra)}.", field_name="_schema")
            return
        if "cancellations" in data:
            raise ma.ValidationError("cancellations need kind: refund_quote.", field_name="kind")
        given = ("contract_ids" in data) + ("account_numbers" in data) + bool(data.get("all_unextracted"))
        if given != 1:
            raise ma.ValidationError("Give one of contract_ids, account_numbers or all_unextracted: true.", field_name="_schema")


class FailureSchema(ma.Schema):
    job_id = ma.fields.String(metadata={"format": "uuid"})
    contract_id = ma.fields.String(allow_none=True, metadata={"format": "uuid"})
    error = ma.fields.String(allow_none=True, metadata={"description": "why the job failed, for people"})
    attempts = ma.fields.Integer()
    finished_at = ma.fields.String(allow_none=True, metadata={"format": "date-time"})


class ReasonSchema(ma.Schema):
    error = ma.fields.String(allow_none=True)
    count = ma.fields.Integer()


class BatchSchema(ma.Schema):
    batch_id = ma.fields.String(metadata={"format": "uuid"})
    kind = ma.fields.String(metadata={"enum": list(BATCH_KINDS), "description": "what the batch's jobs do; a refund_quote batch's results are at quotes.csv"})
    status = ma.fields.String(metadata={"enum": ["queued", "running", "completed", "cancelled"], "description": "queued: jobs still being written; running: jobs queued or running; completed: every job finished"})
    provider = ma.fields.String(allow_none=True)
    total = ma.fields.Integer(metadata={"description": "jobs created (one per contract)"})
    skipped = ma.fields.Integer(metadata={"description": "contracts given no job: already extracted, or a job already queued or running"})
    queued = ma.fields.Integer()
    running = ma.fields.Integer()
    succeeded = ma.fields.Integer()
    failed = ma.fields.Integer()
    done = ma.fields.Integer(metadata={"description": "succeeded + failed"})
    percent = ma.fields.Float(metadata={"description": "done as a share of total"})
    created_at = ma.fields.String(allow_none=True, metadata={"format": "date-time"})
    started_at = ma.fields.String(allow_none=True, metadata={"format": "date-time", "description": "when its first job started"})
    finished_at = ma.fields.String(allow_none=True, metadata={"format": "date-time", "description": "when its last job finished"})
    elapsed_seconds = ma.fields.Float(allow_none=True)
    throughput_per_second = ma.fields.Float(allow_none=True, metadata={"description": "finished jobs per second since the first started"})
    eta_seconds = ma.fields.Float(allow_none=True, metadata={"description": "at the current throughput"})
    failures = ma.fields.List(ma.fields.Nested(FailureSchema), metadata={"description": "the most recent failed jobs (up to 20)"})
    failure_reasons = ma.fields.List(ma.fields.Nested(ReasonSchema), metadata={"description": "failed jobs counted by reason, most frequent first (up to 10)"})
    request_id = ma.fields.String(allow_none=True, metadata={"description": "the request that created the batch; its jobs log under it"})


class BatchAcceptedSchema(BatchSchema):
    location = ma.fields.String(metadata={"description": "follow the batch here", "example": "/api/v1/batches/7c1e..."})


EXAMPLE_BATCH = {
    "batch_id": "7c1e4b2a-3d5f-4e6a-9b8c-0d1e2f3a4b5c", "kind": "extraction", "status": "running", "provider": None,
    "total": 4980, "skipped": 20, "queued": 3100, "running": 24, "succeeded": 1850, "failed": 6, "done": 1856, "percent": 37.3,
    "created_at": "2026-11-28T01:00:00+00:00", "started_at": "2026-11-28T01:00:01+00:00", "finished_at": None,
    "elapsed_seconds": 40.2, "throughput_per_second": 46.2, "eta_seconds": 67.6,
    "failures": [{"job_id": "3f0c2b1a-9d8e-4c7b-a6f5-1e2d3c4b5a69", "contract_id": "0b6c3f0e-2f6a-4c36-9d0e-6c1f4f6f8a11",
                  "error": "the contract has no document text and no PDF", "attempts": 1, "finished_at": "2026-11-28T01:00:12+00:00"}],
    "failure_reasons": [{"error": "the contract has no document text and no PDF", "count": 6}],
    "request_id": "9f2c6a1e0b7d4c3a",
}


class BatchListArgsSchema(ma.Schema):
    status = ma.fields.String(validate=ma.validate.OneOf(("queued", "running", "completed", "cancelled")), metadata={"description": "only batches in this state"})


class BatchSummarySchema(ma.Schema):
    batch_id = ma.fields.String(metadata={"format": "uuid"})
    status = ma.fields.String(metadata={"enum": ["queued", "running", "completed", "cancelled"]})
    provider = ma.fields.String(allow_none=True)
    total = ma.fields.Integer()
    skipped = ma.fields.Integer()
    queued = ma.fields.Integer()
    running = ma.fields.Integer()
    succeeded = ma.fields.Integer()
    failed = ma.fields.Integer()
    done = ma.fields.Integer()
    percent = ma.fields.Float()
    created_at = ma.fields.String(allow_none=True, metadata={"format": "date-time"})
    started_at = ma.fields.String(allow_none=True, metadata={"format": "date-time"})
    finished_at = ma.fields.String(allow_none=True, metadata={"format": "date-time"})
    requested_by = ma.fields.String(allow_none=True, metadata={"format": "uuid"})
