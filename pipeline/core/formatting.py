"""How values leave the service: timestamps as ISO 8601 in UTC, money with two decimals."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def iso_utc(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC; SQLite hands back naive datetimes, which were written in UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.isoformat()


def money(value: Any) -> str | None:
    """A stored amount as the API shows it ("795.00"); strings (already canonical) pass through."""
    if value is None or isinstance(value, str):
        return value
    return f"{value:.2f}"
