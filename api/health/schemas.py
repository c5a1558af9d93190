import marshmallow as ma

from api.fields import StrictBoolean


class HealthSchema(ma.Schema):
    status = ma.fields.String(metadata={"example": "ok"})
    version = ma.fields.String(metadata={"example": "0.1.0"})
    environment = ma.fields.String(metadata={"example": "development"})


class CheckSchema(ma.Schema):
    ok = StrictBoolean(metadata={"example": True})
    detail = ma.fields.String(metadata={"example": "postgresql"})
    latency_ms = ma.fields.Float(metadata={"example": 1.2})
    error = ma.fields.String(metadata={"example": "ConnectionError: Error 111 connecting to 127.0.0.1:6379."})


class ReadySchema(ma.Schema):
    status = ma.fields.String(metadata={"example": "ready"})
    checks = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(CheckSchema))
