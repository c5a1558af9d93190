"""Validation and grounding of every provider answer, whoever gave it.

A value must be canonical (see pipeline.text.fields) and its quoted passage must occur in the
document text; the passage's offsets are recorded so a reviewer sees where it came from. A
value that fails either check is kept but flagged, and its confidence capped, so the badge
tells the reviewer to look closely. A field the document does not state is None with a low
confidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from pipeline.providers.base import FieldValue
from pipeline.text.amounts import amounts_in
from pipeline.text.fields import canonical
from pipeline.text.normalising import fold
from pipeline.vocabulary import FIELD_NAMES, MONEY_FIELDS

UNGROUNDED_CAP = 0.3      # the quote is not in the document: the value may be invented
UNSUPPORTED_CAP = 0.5     # the quote is there but does not contain the amount
SILENT_CAP = 0.3          # no value: the document does not say, or the provider could not tell

@dataclass
class CheckedField:
    value: str | None
    confidence: float
    quote: str | None
    start: int | None
    end: int | None
    flags: list[str] = field(default_factory=list)


def _normalise(text: str) -> tuple[str, list[int]]:
    """Lower-cased text with runs of white space collapsed, and each character's original offset."""
    chars: list[str] = []
    offsets: list[int] = []
    previous_space = False
    for index, char in enumerate(fold(text)):
        if char.isspace():
            if previous_space or not chars:
                continue
            chars.append(" ")
            offsets.append(index)
            previous_space = True
        else:
            chars.append(char.lower())
            offsets.append(index)
            previous_space = False
    return "".join(chars), offsets


def locate(quote: str, text: str, normalised: tuple[str, list[int]] | None = None) -> tuple[int, int] | None:
    """Offsets of the quote in the text: exactly, else ignoring case, white space and typography."""
    quote = quote.strip().strip('"').strip()
    if not quote:
        return None
    start = text.find(quote)
    if start >= 0:
        return start, start + len(quote)
    norm_text, offsets = normalised or _normalise(text)
    norm_quote, _ = _normalise(quote)
    norm_quote = norm_quote.strip()
    # A quote with an ellipsis: look for its longest piece.
    if "..." in norm_quote:
        norm_quote = max((p.strip() for p in norm_quote.split("...")), key=len)
    if len(norm_quote) < 4:
        return None
    position = norm_text.find(norm_quote)
    if position < 0:
        return None
    return offsets[position], offsets[position + len(norm_quote) - 1] + 1


# An amount in digits: plain ("1095") or grouped by thousands ("1,095"), optionally with cents.
_AMOUNT = re.compile(r"(?<![\d.,])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{2}))?(?!\d|\.\d)")


def _amount_in(quote: str, value: str) -> bool:
    """Whether the quote states this amount ("1095.00" matches "$1,095" and "1095.00")."""
    wanted = Decimal(value)
    # One pattern for every value: a pattern built per amount was compiled again on nearly every
    # job (the amounts differ), which cost more than the rest of the grounding.
    for match in _AMOUNT.finditer(quote):
        if Decimal(f"{match.group(1).replace(',', '')}.{match.group(2) or '00'}") == wanted:
            return True
    # Contracts also write amounts in words: "a fee of fifty dollars".
    return wanted in amounts_in(quote)


def check_field(name: str, answer: FieldValue | None, text: str, normalised: tuple[str, list[int]] | None = None) -> CheckedField:
    if answer is None or answer.value is None or (isinstance(answer.value, str) and not answer.value.strip()):
        confidence = min(_confidence(answer.confidence if answer else 0.0), SILENT_CAP)
        return CheckedField(None, confidence, None, None, None, ["not_stated"])
    flags: list[str] = []
    try:
        value = canonical(name, answer.value)
    except ValueError as exc:
        return CheckedField(None, 0.0, answer.quote, None, None, [f"invalid_value: {exc}"])
    confidence = _confidence(answer.confidence)
    quote = (answer.quote or "").strip() or None
    span = locate(quote, text, normalised) if quote else None
    start = end = None
    if quote is None:
        flags.append("no_quote")
        confidence = min(confidence, UNGROUNDED_CAP)
    elif span is None:
        flags.append("quote_not_in_document")
        confidence = min(confidence, UNGROUNDED_CAP)
    else:
        start, end = span
        quote = text[start:end]
        if name in MONEY_FIELDS and value != "0.00" and not _amount_in(quote, value):
            flags.append("amount_not_in_quote")
            confidence = min(confidence, UNSUPPORTED_CAP)
    return CheckedField(value, round(confidence, 4), quote, start, end, flags)


def _confidence(raw: object) -> float:
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    if value != value:  # NaN
        return 0.0
    return min(max(value, 0.0), 1.0)


def check_all(fields: dict[str, FieldValue], text: str) -> dict[str, CheckedField]:
    """Validate and ground every field of one answer."""
    normalised = _normalise(text)
    return {name: check_field(name, fields.get(name), text, normalised) for name in FIELD_NAMES}


def badge(confidence: float | None, *, high: float, medium: float) -> str:
    if confidence is None or confidence < medium:
        return "low"
    return "high" if confidence >= high else "medium"
