"""Account numbers as people type them: spaces and dashes are dropped, digits remain."""

from __future__ import annotations

import re

MIN_LENGTH = 6
MAX_LENGTH = 20
_SEPARATORS = re.compile(r"[\s\-]+")


def normalize_account_number(raw: object) -> str:
    """The canonical digits of an account number; ValueError with a readable reason otherwise."""
    if not isinstance(raw, (str, int)) or isinstance(raw, bool):
        raise ValueError("account number must be a string of digits")
    value = _SEPARATORS.sub("", str(raw))
    if not value:
        raise ValueError("account number is empty")
    if not value.isdigit() or not value.isascii():
        raise ValueError("account number may contain only digits, spaces and dashes")
    if not MIN_LENGTH <= len(value) <= MAX_LENGTH:
        raise ValueError(f"account number must have {MIN_LENGTH} to {MAX_LENGTH} digits, got {len(value)}")
    return value
