"""Request and response bodies of the contracts resource."""

import marshmallow as ma

from api.fields import StrictBoolean
from pipeline.contracts.accounts import normalize_account_number
from pipeline.vocabulary import REFUND_METHODS


class AccountNumber(ma.fields.String):
    """An account number as a person types it; spaces and dashes are dropped."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise ma.ValidationError("Must be a string of digits.")
        try:
            return normalize_account_number(value)
        except ValueError as exc:
            raise ma.ValidationError(f"{str(exc)[0].upper()}{str(exc)[1:]}.") from None


class SearchSchema(ma.Schema):
    account_number = AccountNumber(
        required=True,
        metadata={"description": "6 to 20 digits; spaces and dashes are ignored", "example": "4350-948-342",
                  "type": "string", "pattern": "^[0-9][0-9 -]{4,38}[0-9]$"},
    )


class VehicleSchema(ma.Schema):
    year = ma.fields.Integer(metadata={"example": 2022})
    make = ma.fields.String(metadata={"example": "Toyota"})
    model = ma.fields.String(metadata={"example": "Camry"})
    vin = ma.fields.String(metadata={"example": "4T1B11HK5JU123456"})
    description = ma.fields.String(metadata={"description": "free text when the source gave no parts"})


class ExtractionSummarySchema(ma.Schema):
    extraction_id = ma.fields.String(metadata={"format": "uuid"})
    status = ma.fields.String(metadata={"enum": ["pending", "approved"]})
    gap_insurance_premium = ma.fields.String(allow_none=True, metadata={"example": "795.00"})
    refund_calculation_method = ma.fields.String(allow_none=True, metadata={"enum": list(REFUND_METHODS)})
    cancellation_fee = ma.fields.String(allow_none=True, metadata={"example": "50.00"})
    approved_at = ma.fields.String(allow_none=True, metadata={"format": "date-time"})


class JobRefSchema(ma.Schema):
    job_id = ma.fields.String(metadata={"format": "uuid"})
    status = ma.fields.String(metadata={"enum": ["queued", "running"]})


class ContractSchema(ma.Schema):
    contract_id = ma.fields.String(metadata={"format": "uuid"})
    account_number = ma.fields.String(metadata={"example": "4350948342"})
    customer_name = ma.fields.String(allow_none=True, metadata={"example": "Maria Lopez"})
    dealer = ma.fields.String(allow_none=True)
    lender = ma.fields.String(allow_none=True)
    vehicle = ma.fields.Nested(VehicleSchema, allow_none=True)
    contract_start_date = ma.fields.String(allow_none=True, metadata={"format": "date"})
    term_months = ma.fields.Integer(allow_none=True)
    state = ma.fields.String(allow_none=True, metadata={"example": "TX"})
    text_status = ma.fields.String(metadata={"enum": ["pending", "available", "failed"]})
    has_pdf = StrictBoolean()
    pdf_url = ma.fields.String(allow_none=True, metadata={"example": "/api/v1/contracts/0b6c.../pdf"})
    source = ma.fields.String(metadata={"enum": ["import", "seed", "external"]})
    extraction_status = ma.fields.String(metadata={"enum": ["none", "pending", "approved"]})
    extraction = ma.fields.Nested(ExtractionSummarySchema, allow_none=True)
    extraction_job = ma.fields.Nested(JobRefSchema, allow_none=True, metadata={"description": "a running or queued extraction, when there is no extraction yet"})
    created_at = ma.fields.String(metadata={"format": "date-time"})
    updated_at = ma.fields.String(metadata={"format": "date-time"})


class ContractDetailSchema(ContractSchema):
    document_text = ma.fields.String(allow_none=True, metadata={"description": "the contract's text; extraction source offsets point into it"})
