import marshmallow as ma
from webargs.fields import DelimitedList

from models.audit import AUDIT_EVENT_TYPES


class TrailQuerySchema(ma.Schema):
    event_type = DelimitedList(
        ma.fields.String(),
        load_default=list,
        metadata={"description": f"only these event types, comma-separated ({', '.join(AUDIT_EVENT_TYPES)})", "example": "extract,approve"},
    )
    since = ma.fields.DateTime(load_default=None, metadata={"description": "events at or after this time (ISO 8601; UTC when no zone is given)", "example": "2026-11-28T00:00:00Z"})
    until = ma.fields.DateTime(load_default=None, metadata={"description": "events before this time (ISO 8601; UTC when no zone is given)", "example": "2026-11-29T00:00:00Z"})


class AuditEventSchema(ma.Schema):
    id = ma.fields.Integer(metadata={"description": "increases with every event written"})
    event_type = ma.fields.String(metadata={"enum": list(AUDIT_EVENT_TYPES)})
    created_at = ma.fields.String(metadata={"format": "date-time"})
    user_id = ma.fields.String(allow_none=True, metadata={"format": "uuid", "description": "who (null until sign-in exists)"})
    contract_id = ma.fields.String(allow_none=True, metadata={"format": "uuid"})
    extraction_id = ma.fields.String(allow_none=True, metadata={"format": "uuid"})
    request_id = ma.fields.String(allow_none=True, metadata={"description": "the API request (and its jobs) that caused the event"})
    event_data = ma.fields.Dict(metadata={"description": "what happened: for approve the corrections and notes, for api_request the method, path, status and duration"})
