from datetime import timezone

import marshmallow as ma

from pipeline.vocabulary import FIELD_NAMES


class CreateSchema(ma.Schema):
    contract_id = ma.fields.UUID(required=True, metadata={"example": "0b6c3f0e-2f6a-4c36-9d0e-6c1f4f6f8a11"})


class SourceSchema(ma.Schema):
    quote = ma.fields.String(metadata={"description": "the passage, verbatim from the document text"})
    start = ma.fields.Integer(allow_none=True, metadata={"description": "offset of the passage in the contract's document_text"})
    end = ma.fields.Integer(allow_none=True)


class FieldSchema(ma.Schema):
    value = ma.fields.String(allow_none=True, metadata={"example": "795.00"})
    confidence = ma.fields.Float(allow_none=True, metadata={"example": 0.93})
    badge = ma.fields.String(metadata={"enum": ["high", "medium", "low"]})
    source = ma.fields.Nested(SourceSchema, allow_none=True)
    flags = ma.fields.List(ma.fields.String(), metadata={"description": "why the value needs a closer look (quote_not_in_document, amount_not_in_quote, not_stated, invalid_value: ...)"})


class FieldsSchema(ma.Schema):
    gap_insurance_premium = ma.fields.Nested(FieldSchema)
    refund_calculation_method = ma.fields.Nested(FieldSchema)
    cancellation_fee = ma.fields.Nested(FieldSchema)


class AuditEntrySchema(ma.Schema):
    event_type = ma.fields.String()
    created_at = ma.fields.String(metadata={"format": "date-time"})
    user_id = ma.fields.String(allow_none=True)
    request_id = ma.fields.String(allow_none=True)
    event_data = ma.fields.Dict()


class ExtractionSchema(ma.Schema):
    extraction_id = ma.fields.String(metadata={"format": "uuid"})
    contract_id = ma.fields.String(metadata={"format": "uuid"})
    status = ma.fields.String(metadata={"enum": ["pending", "approved"]})
    fields = ma.fields.Nested(FieldsSchema)
    provider = ma.fields.String(allow_none=True, metadata={"example": "openai"})
    model = ma.fields.String(allow_none=True, metadata={"example": "gpt-4o-mini"})
    prompt_tokens = ma.fields.Integer(allow_none=True)
    completion_tokens = ma.fields.Integer(allow_none=True)
    cost_usd = ma.fields.String(allow_none=True, metadata={"example": "0.000412"})
    latency_ms = ma.fields.Integer(allow_none=True)
    approved_at = ma.fields.String(allow_none=True, metadata={"format": "date-time"})
    approved_by = ma.fields.String(allow_none=True)
    notes = ma.fields.String(allow_none=True)
    created_at = ma.fields.String(metadata={"format": "date-time"})
    updated_at = ma.fields.String(metadata={"format": "date-time"})
    audit_trail = ma.fields.List(ma.fields.Nested(AuditEntrySchema))


class CorrectionSchema(ma.Schema):
    field_name = ma.fields.String(required=True, metadata={"enum": list(FIELD_NAMES), "example": "cancellation_fee"})
    # A string ("$1,095", "Rule of 78s") or, for amounts, a number; checked and made canonical by the service.
    corrected_value = ma.fields.Raw(required=True, allow_none=True, metadata={"description": "the right value: an amount (\"$1,095\", 1095) or a refund method (\"Rule of 78s\")", "example": "75.00"})
    correction_reason = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=2000), metadata={"example": "The fee is $75 in section 4."})


class SubmitSchema(ma.Schema):
    corrections = ma.fields.List(ma.fields.Nested(CorrectionSchema), load_default=list, validate=ma.validate.Length(max=10))
    notes = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=10000), metadata={"example": "Checked against the signed addendum."})


class CorrectionViewSchema(ma.Schema):
    field_name = ma.fields.String()
    original_value = ma.fields.String(allow_none=True)
    corrected_value = ma.fields.String()
    correction_reason = ma.fields.String(allow_none=True)
    corrected_by = ma.fields.String(allow_none=True)
    created_at = ma.fields.String(metadata={"format": "date-time"})


class SubmittedSchema(ExtractionSchema):
    corrections = ma.fields.List(ma.fields.Nested(CorrectionViewSchema), metadata={"description": "the corrections this submit made"})


class QueueArgsSchema(ma.Schema):
    status = ma.fields.String(validate=ma.validate.OneOf(("pending", "approved")), metadata={"description": "only extractions in this state (the review queue: pending)"})
    badge = ma.fields.String(validate=ma.validate.OneOf(("high", "medium", "low")), metadata={"description": "only this badge: of `field` when given, else of the least confident field"})
    field = ma.fields.String(validate=ma.validate.OneOf(("gap_insurance_premium", "refund_calculation_method", "cancellation_fee")),
                             metadata={"description": "sort and filter by this field's confidence instead of the least confident field's"})
    max_confidence = ma.fields.Float(validate=ma.validate.Range(min=0, max=1), metadata={"description": "only confidences at or below this", "example": 0.6})
    batch_id = ma.fields.UUID(metadata={"description": "only contracts of this batch"})
    created_before = ma.fields.AwareDateTime(default_timezone=timezone.utc, metadata={"description": "only extractions made before this time (ISO 8601; UTC when no zone is given): the queue's age filter"})
    created_after = ma.fields.AwareDateTime(default_timezone=timezone.utc, metadata={"description": "only extractions made at or after this time"})
    sort = ma.fields.String(load_default="confidence", validate=ma.validate.OneOf(("confidence", "-confidence", "created_at", "-created_at")),
                            metadata={"description": "confidence (least confident first, the default), -confidence, created_at (oldest first) or -created_at"})


class QueueFieldSchema(ma.Schema):
    value = ma.fields.String(allow_none=True)
    confidence = ma.fields.Float(allow_none=True)
    badge = ma.fields.String(metadata={"enum": ["high", "medium", "low"]})
    flags = ma.fields.List(ma.fields.String())


class QueueFieldsSchema(ma.Schema):
    gap_insurance_premium = ma.fields.Nested(QueueFieldSchema)
    refund_calculation_method = ma.fields.Nested(QueueFieldSchema)
    cancellation_fee = ma.fields.Nested(QueueFieldSchema)


class QueueItemSchema(ma.Schema):
    extraction_id = ma.fields.String(metadata={"format": "uuid"})
    contract_id = ma.fields.String(metadata={"format": "uuid"})
    account_number = ma.fields.String()
    customer_name = ma.fields.String(allow_none=True)
    status = ma.fields.String(metadata={"enum": ["pending", "approved"]})
    confidence = ma.fields.Float(allow_none=True, metadata={"description": "the confidence sorted by: of `field`, else of the least confident field"})
    badge = ma.fields.String(metadata={"enum": ["high", "medium", "low"], "description": "the badge of that confidence"})
    fields = ma.fields.Nested(QueueFieldsSchema)
    provider = ma.fields.String(allow_none=True)
    approved_at = ma.fields.String(allow_none=True, metadata={"format": "date-time"})
    created_at = ma.fields.String(metadata={"format": "date-time"})
