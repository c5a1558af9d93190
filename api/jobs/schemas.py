import marshmallow as ma

from pipeline.vocabulary import JOB_KINDS


class JobSchema(ma.Schema):
    job_id = ma.fields.String(metadata={"format": "uuid"})
    kind = ma.fields.String(metadata={"enum": list(JOB_KINDS)})
    status = ma.fields.String(metadata={"enum": ["queued", "running", "succeeded", "failed"]})
    queue = ma.fields.String(metadata={"enum": ["interactive", "bulk"]})
    contract_id = ma.fields.String(allow_none=True, metadata={"format": "uuid"})
    batch_id = ma.fields.String(allow_none=True, metadata={"format": "uuid"})
    requested_by = ma.fields.String(allow_none=True, metadata={"format": "uuid", "description": "the user who asked for the job"})
    attempts = ma.fields.Integer()
    result = ma.fields.Dict(allow_none=True, metadata={"description": "for an extraction: extraction_id, provider and the values"})
    error = ma.fields.String(allow_none=True, metadata={"description": "why the job failed, for people"})
    created_at = ma.fields.String(allow_none=True, metadata={"format": "date-time"})
    started_at = ma.fields.String(allow_none=True, metadata={"format": "date-time"})
    finished_at = ma.fields.String(allow_none=True, metadata={"format": "date-time"})


class JobAcceptedSchema(JobSchema):
    location = ma.fields.String(metadata={"description": "poll here", "example": "/api/v1/jobs/3f0c..."})
    events = ma.fields.String(metadata={"description": "or subscribe here (server-sent events)", "example": "/api/v1/jobs/3f0c.../events"})


EXAMPLE_JOB = {
    "job_id": "3f0c2b1a-9d8e-4c7b-a6f5-1e2d3c4b5a69",
    "kind": "extraction",
    "status": "succeeded",
    "queue": "interactive",
    "contract_id": "0b6c3f0e-2f6a-4c36-9d0e-6c1f4f6f8a11",
    "batch_id": None,
    "attempts": 1,
    "result": {"extraction_id": "5d1f9a3e-8b7c-4e2a-9f1d-3c2b1a0e9d8c", "provider": "openai",
               "fields": {"gap_insurance_premium": "795.00", "refund_calculation_method": "pro_rata", "cancellation_fee": "50.00"}},
    "error": None,
    "created_at": "2026-11-28T09:00:00+00:00",
    "started_at": "2026-11-28T09:00:00.120000+00:00",
    "finished_at": "2026-11-28T09:00:01.480000+00:00",
}
