"""The three fields and their canonical forms.

Providers and reviewers write values many ways ("$1,095", "1095", "Rule of 78s", "pro-rata");
everything stored is canonical: money as a string with two decimals, the method as one of
REFUND_METHODS. Each parser raises ValueError with a reason a person can act on.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from pipeline.vocabulary import FIELD_NAMES, REFUND_METHODS

MAX_AMOUNT = Decimal("100000")

_METHOD_ALIASES = {
    "pro_rata": ("pro rata", "prorata", "pro-rata", "simple pro rata", "pro rata basis", "daily pro rata", "pro-rated", "prorated"),
    "rule_of_78": ("rule of 78", "rule of 78s", "rule of 78's", "rule of seventy-eight", "sum of the digits", "sum-of-the-digits", "sum of digits", "sum of the months digits", "78s"),
    "short_rate": ("short rate", "short-rate", "shortrate", "short rate table", "short rate basis"),
    "actuarial": ("actuarial", "actuarial method", "actuarial basis", "actuarial method refund"),
}
_ALIAS_TO_METHOD = {alias: method for method, aliases in _METHOD_ALIASES.items() for alias in aliases}
_NO_FEE = {"none", "no fee", "no cancellation fee", "free", "n/a fee", "waived", "zero", "no charge"}
_MONEY = re.compile(r"^(?:usd|\$)?\s*(?P<number>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<cents>\d{1,2}))?\s*(?:usd|dollars?)?$")


def canonical_money(raw: object, *, field: str = "amount") -> str:
    """'$1,095' -> '1095.00'; negative, empty or unreadable amounts are refused."""
    if isinstance(raw, bool) or raw is None:
        raise ValueError(f"{field} must be an amount like 795.00")
    if isinstance(raw, (int, float, Decimal)):
        try:
            value = Decimal(str(raw))
        except InvalidOperation:
            raise ValueError(f"{field} must be an amount like 795.00") from None
    else:
        text = str(raw).strip().lower()
        if not text:
            raise ValueError(f"{field} is empty")
        if field == "cancellation_fee" and text in _NO_FEE:
            return "0.00"
        if text.startswith("-") or text.startswith("$-") or "(" in text:
            raise ValueError(f"{field} must not be negative")
        match = _MONEY.match(text)
        if not match:
            raise ValueError(f"{field} must be an amount like 795.00, got {str(raw)[:40]!r}")
        value = Decimal(match["number"].replace(",", "") + "." + (match["cents"] or "0"))
    if not value.is_finite():
        raise ValueError(f"{field} must be an amount like 795.00")
    if value < 0:
        raise ValueError(f"{field} must not be negative")
    if value > MAX_AMOUNT:
        raise ValueError(f"{field} of {value} is beyond any GAP contract ({MAX_AMOUNT} at most)")
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def canonical_method(raw: object) -> str:
    """'Rule of 78s' -> 'rule_of_78'; unknown methods are refused."""
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("refund_calculation_method is empty")
    text = raw.strip().lower()
    if text in REFUND_METHODS:
        return text
    text = re.sub(r"[\s_]+", " ", text).strip(" .")
    text = re.sub(r"\s+(method|basis|calculation|formula)$", "", text) if text not in _ALIAS_TO_METHOD else text
    if text in _ALIAS_TO_METHOD:
        return _ALIAS_TO_METHOD[text]
    if text.replace(" ", "_") in REFUND_METHODS:
        return text.replace(" ", "_")
    raise ValueError(f"refund_calculation_method must be one of {', '.join(REFUND_METHODS)}; got {raw[:40]!r}")


def canonical(field: str, raw: object) -> str:
    """The canonical form of a value for one of the three fields."""
    if field not in FIELD_NAMES:
        raise ValueError(f"unknown field {field!r}; fields are {', '.join(FIELD_NAMES)}")
    if field == "refund_calculation_method":
        return canonical_method(raw)
    return canonical_money(raw, field=field)
