"""Request and response bodies of the refund-quote resource."""

import marshmallow as ma

from api.fields import StrictBoolean
from models.extraction import REFUND_METHODS
from models.refund_quote import QUOTE_ORIGINS, QUOTE_REASON_CODES, REFUND_REASONS


class CreateQuoteSchema(ma.Schema):
    """Unknown fields are refused (422): a misspelt "claim_payed" must not quietly quote without it."""

    cancellation_date = ma.fields.Date(
        required=True, metadata={"description": "the day the coverage ends (ISO date); it may be in the future", "example": "2026-11-20"},
    )
    reason = ma.fields.String(
        required=True, validate=ma.validate.OneOf(REFUND_REASONS),
        metadata={"description": "why the coverage ends", "example": "payoff"},
    )
    odometer = ma.fields.Integer(
        validate=ma.validate.Range(min=0, max=2_000_000),
        metadata={"description": "the vehicle's odometer reading, kept with the quote (no formula uses it)", "example": 41250},
    )
    claim_paid = StrictBoolean(
        load_default=False, metadata={"description": "true when GAP has already paid a claim on this contract (no refund)"},
    )


class StepSchema(ma.Schema):
    text = ma.fields.String(metadata={"description": "the step in words, as an agent would read it to the customer"})
    figure = ma.fields.String(metadata={"description": "the step's figure, when it has one", "example": "$412.35"})


class ClauseSchema(ma.Schema):
    quote = ma.fields.String(metadata={"description": "the contract's refund clause, verbatim"})
    start = ma.fields.Integer(metadata={"description": "offset of the clause in the contract's text"})
    end = ma.fields.Integer()
    source = ma.fields.String(metadata={"enum": ["extraction", "document"], "description": "the extraction's source for the method, or the refund clause found in the text"})


class QuoteSchema(ma.Schema):
    quote_id = ma.fields.String(metadata={"format": "uuid"})
    contract_id = ma.fields.String(metadata={"format": "uuid"})
    extraction_id = ma.fields.String(metadata={"format": "uuid", "description": "the extraction whose values the quote used"})
    origin = ma.fields.String(metadata={"enum": list(QUOTE_ORIGINS), "description": "api, chat (an assistant's answer) or batch (a portfolio job)"})
    job_id = ma.fields.String(allow_none=True, metadata={"format": "uuid", "description": "the portfolio job that made it"})
    requested_by = ma.fields.String(allow_none=True, metadata={"format": "uuid", "description": "the user who asked"})
    request_id = ma.fields.String(allow_none=True)
    created_at = ma.fields.String(metadata={"format": "date-time"})
    cancellation_date = ma.fields.String(metadata={"format": "date"})
    reason = ma.fields.String(metadata={"enum": list(REFUND_REASONS)})
    claim_paid = StrictBoolean()
    odometer = ma.fields.Integer(allow_none=True)
    eligible = ma.fields.Boolean(metadata={"description": "whether any refund is due (it can still come to 0.00)"})
    reason_code = ma.fields.String(metadata={"enum": list(QUOTE_REASON_CODES), "description": "why: stable, for programs"})
    reason_text = ma.fields.String(metadata={"description": "why, in one sentence for people"})
    refund = ma.fields.String(metadata={"description": "what the customer gets back", "example": "412.35"})
    gross_refund = ma.fields.String(metadata={"description": "the unearned charge before the fee", "example": "462.35"})
    fee_applied = ma.fields.String(metadata={"example": "50.00"})
    method = ma.fields.String(allow_none=True, metadata={"enum": [*REFUND_METHODS, None], "description": "the method the refund was computed with; null for a full refund or none"})
    factor = ma.fields.String(metadata={"description": "the unearned share, 6 places", "example": "0.581664"})
    steps = ma.fields.List(ma.fields.Nested(StepSchema))
    inputs = ma.fields.Dict(metadata={"description": "every value used, with where it came from: the extraction (field, quote, offsets), a reviewer's correction, the contract record, the state rule (citation and url), the request, a default"})
    warnings = ma.fields.List(ma.fields.String(), metadata={"description": "what the agent should know before reading the figure out"})
    clause = ma.fields.Nested(ClauseSchema, allow_none=True, metadata={"description": "the contract's refund clause, located in its text"})
    rules_version = ma.fields.String(metadata={"description": "version of the state rules used"})
    formulas_version = ma.fields.String()
    letter_url = ma.fields.String(metadata={"description": "the quote as a one-page PDF letter"})


EXAMPLE_QUOTE = {
    "quote_id": "6a0f3c2e-1b4d-4e8f-9a7b-2c3d4e5f6a7b",
    "contract_id": "0b6c3f0e-2f6a-4c36-9d0e-6c1f4f6f8a11",
    "extraction_id": "5d1f9a3e-8b7c-4e2a-9f1d-3c2b1a0e9d8c",
    "origin": "api", "job_id": None, "requested_by": "7a1e3c52-4b8d-4f0e-9c2a-5d6b7e8f9a01", "request_id": "9f2c0d51a3b84e0f",
    "created_at": "2026-12-03T10:00:00+00:00",
    "cancellation_date": "2026-11-20", "reason": "payoff", "claim_paid": False, "odometer": 41250,
    "eligible": True, "reason_code": "unearned_refund",
    "reason_text": "Refund of $285.55: the unearned rule of 78 share of the $1,095.00 charge less the $60.00 fee.",
    "refund": "285.55", "gross_refund": "345.55", "fee_applied": "60.00", "method": "rule_of_78", "factor": "0.315564",
    "steps": [
        {"text": "The coverage runs 2,557 days from 2023-06-02 to 2030-06-02 (84 months).", "figure": "2,557 days"},
        {"text": "Unearned charge: $1,095.00 x 0.315564 = $345.55 (rounded to the cent).", "figure": "$345.55"},
        {"text": "Refund: $345.55 - $60.00 fee = $285.55.", "figure": "$285.55"},
    ],
    "inputs": {
        "premium": {"value": "1095.00", "source": "extraction", "field": "gap_insurance_premium", "quote": "The GAP charge is $1,095.00.", "start": 1180, "end": 1208},
        "fee": {"value": "60.00", "source": "correction", "field": "cancellation_fee", "correction": {"original_value": "75.00", "corrected_value": "60.00", "reason": "addendum B"}},
        "free_look_days": {"value": 30, "source": "state_rule", "citation": "Tex. Fin. Code § 354.007(c)", "url": "https://statutes.capitol.texas.gov/"},
        "cancellation_date": {"value": "2026-11-20", "source": "request", "origin": "api"},
    },
    "warnings": [],
    "clause": {"quote": "the refund of the unearned GAP charge will be calculated by the Rule of 78s.", "start": 1402, "end": 1478, "source": "extraction"},
    "rules_version": "2026-12-02.1", "formulas_version": "1",
    "letter_url": "/api/v1/refund-quotes/6a0f3c2e-1b4d-4e8f-9a7b-2c3d4e5f6a7b/letter.pdf",
}
