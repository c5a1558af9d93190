"""Helpers every resource shares for reading a request."""

from __future__ import annotations

import uuid

from pipeline.core.errors import ValidationFailed


def parse_id(raw: str, name: str = "contract_id") -> uuid.UUID:
    """A path parameter as a UUID; anything else is a 422 that names the parameter."""
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ValidationFailed(f"{name} must be a UUID", details={"path": {name: ["Not a valid UUID."]}}) from None
