"""Request and response bodies of the admin resource: users and metrics."""

import marshmallow as ma

from api.fields import QueryBoolean, StrictBoolean
from models import JOB_STATUSES
from pipeline.vocabulary import FIELD_NAMES, USER_ROLES

USERNAME = ma.validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._\-]{2,99}$", error="3 to 100 letters, digits, dots, dashes or underscores, starting with a letter or digit.")


class Email(ma.fields.Email):
    """An e-mail address, stored in lower case so one person cannot be two users by case."""

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value.strip() if isinstance(value, str) else value, attr, data, **kwargs)
        return result.lower()


class UserCreateSchema(ma.Schema):
    email = Email(required=True, validate=ma.validate.Length(max=320), metadata={"example": "maria.lopez@example.com"})
    username = ma.fields.String(required=True, validate=USERNAME, metadata={"example": "mlopez"})
    full_name = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=200), metadata={"example": "Maria Lopez"})
    role = ma.fields.String(load_default="agent", validate=ma.validate.OneOf(USER_ROLES), metadata={"enum": list(USER_ROLES)})
    is_active = StrictBoolean(load_default=True)


class UserUpdateSchema(ma.Schema):
    OPENAPI_EXTRA = {"minProperties": 1}
    email = Email(validate=ma.validate.Length(max=320))
    username = ma.fields.String(validate=USERNAME)
    full_name = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=200))
    role = ma.fields.String(validate=ma.validate.OneOf(USER_ROLES), metadata={"enum": list(USER_ROLES)})
    is_active = StrictBoolean()

    @ma.validates_schema
    def _not_empty(self, data, **_kwargs):
        if not data:
            raise ma.ValidationError(f"Give at least one of: {', '.join(self.fields)}.", "_schema")


class UserListArgsSchema(ma.Schema):
    include_deleted = QueryBoolean(load_default=False, metadata={"description": "also list soft-deleted users"})
    role = ma.fields.String(validate=ma.validate.OneOf(USER_ROLES), metadata={"enum": list(USER_ROLES)})


class UserSchema(ma.Schema):
    user_id = ma.fields.String(metadata={"format": "uuid"})
    email = ma.fields.String()
    username = ma.fields.String()
    full_name = ma.fields.String(allow_none=True)
    role = ma.fields.String(metadata={"enum": list(USER_ROLES)})
    is_active = StrictBoolean()
    deleted_at = ma.fields.String(allow_none=True, metadata={"format": "date-time", "description": "set when the user was deleted (soft delete)"})
    last_login_at = ma.fields.String(allow_none=True, metadata={"format": "date-time"})
    created_at = ma.fields.String(metadata={"format": "date-time"})
    updated_at = ma.fields.String(metadata={"format": "date-time"})


def _counts(names, description=None):
    return ma.fields.Dict(keys=ma.fields.String(validate=ma.validate.OneOf(names)), values=ma.fields.Integer(), metadata={"description": description} if description else {})


class MetricsContractsSchema(ma.Schema):
    total = ma.fields.Integer()


class MetricsExtractionCountsSchema(ma.Schema):
    total = ma.fields.Integer()
    by_status = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), metadata={"example": {"pending": 12, "approved": 30}})


class MetricsExtractionTimeSchema(ma.Schema):
    source = ma.fields.String(metadata={"description": "jobs: finished_at - started_at of succeeded extraction jobs"})
    window_days = ma.fields.Integer()
    count = ma.fields.Integer(metadata={"description": "jobs measured"})
    avg_ms = ma.fields.Float(allow_none=True)
    p95_ms = ma.fields.Float(allow_none=True)
    provider_avg_ms = ma.fields.Float(allow_none=True, metadata={"description": "average provider latency of the extractions made in the window"})


class MetricsCacheKindSchema(ma.Schema):
    hit = ma.fields.Integer()
    miss = ma.fields.Integer()
    hit_rate = ma.fields.Float(allow_none=True)


class MetricsCacheSchema(ma.Schema):
    hit_rate = ma.fields.Float(allow_none=True, metadata={"description": "hits / lookups over every kind; null before the first lookup"})
    kinds = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(MetricsCacheKindSchema), metadata={"description": "contract (search answers) and pdf"})


class MetricsFieldCorrectionsSchema(ma.Schema):
    corrections = ma.fields.Integer()
    corrected_extractions = ma.fields.Integer()
    correction_rate = ma.fields.Float(allow_none=True, metadata={"description": "corrected / approved"})
    accuracy = ma.fields.Float(allow_none=True, metadata={"description": "1 - correction_rate: the extractor's accuracy as reviewers see it"})


class MetricsCorrectionsSchema(ma.Schema):
    approved_extractions = ma.fields.Integer()
    fields = ma.fields.Dict(keys=ma.fields.String(validate=ma.validate.OneOf(FIELD_NAMES)), values=ma.fields.Nested(MetricsFieldCorrectionsSchema))


class MetricsJobCountsSchema(ma.Schema):
    by_status = _counts(JOB_STATUSES)
    by_kind = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer()))


class MetricsQueuesSchema(ma.Schema):
    broker = ma.fields.String(metadata={"enum": ["redis", "filesystem", "amqp"]})
    depth = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(allow_none=True), metadata={"description": "messages waiting per queue; null when the broker cannot say"})


class MetricsDayCountsSchema(ma.Schema):
    date = ma.fields.String(metadata={"format": "date"})
    extractions_created = ma.fields.Integer()
    extractions_approved = ma.fields.Integer()


class MetricsWeekCountsSchema(ma.Schema):
    start = ma.fields.String(metadata={"format": "date"})
    end = ma.fields.String(metadata={"format": "date"})
    extractions_created = ma.fields.Integer()
    extractions_approved = ma.fields.Integer()


class MetricsSchema(ma.Schema):
    generated_at = ma.fields.String(metadata={"format": "date-time"})
    contracts = ma.fields.Nested(MetricsContractsSchema)
    extractions = ma.fields.Nested(MetricsExtractionCountsSchema)
    extraction_time = ma.fields.Nested(MetricsExtractionTimeSchema)
    cache = ma.fields.Nested(MetricsCacheSchema)
    corrections = ma.fields.Nested(MetricsCorrectionsSchema)
    jobs = ma.fields.Nested(MetricsJobCountsSchema)
    queues = ma.fields.Nested(MetricsQueuesSchema)
    daily = ma.fields.List(ma.fields.Nested(MetricsDayCountsSchema), metadata={"description": "the last 7 days (UTC), oldest first"})
    weekly = ma.fields.List(ma.fields.Nested(MetricsWeekCountsSchema), metadata={"description": "the last 4 seven-day periods ending today, oldest first"})
