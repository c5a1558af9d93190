"""State rules for GAP refunds: data with citations, loaded and checked once at start.

The rules live in ``state_rules.json`` beside this module, not in code. Each state entry holds only
what a public statute or regulation says, each value with the citation it comes from and the
address of the text that was read; a key whose figure could not be verified is ``null`` and the
quote falls back to the contract and the defaults. See README.md ("Refund quotes") for the file's
shape and how to add a state.

:func:`parse_rules` is pure (a mapping in, a :class:`RuleBook` out); :func:`load_rules` reads a
file; :func:`default_rules` loads the shipped file once. A malformed file is refused with a
:class:`RulesError` whose message names the state and the key, e.g.
``state_rules.json: NJ.cancellation_fee.amount: must be an amount like 50.00``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pipeline.vocabulary import REFUND_METHODS

RULES_PATH = Path(__file__).with_name("state_rules.json")

FEE_KINDS = ("cap", "ban")
_STATE_CODE = re.compile(r"^[A-Z]{2}$")
_URL = re.compile(r"^https?://\S+$")
_AMOUNT = re.compile(r"^\d{1,6}\.\d{2}$")
_TOP_KEYS = {"rules_version", "description", "states"}
_STATE_KEYS = {
    "name",
    "free_look_days",
    "cancellation_fee",
    "required_method",
    "method_floor",
    "partial_month_min_days",
    "short_rate_table",
    "notes",
}
_REQUIRED_STATE_KEYS = ("name", "free_look_days", "cancellation_fee", "required_method")


class RulesError(ValueError):
    """The rules file is malformed; the message names the state and the key."""


@dataclass(frozen=True)
class Citation:
    """Where a rule comes from: the statute or regulation, and the address of the text read."""

    text: str
    url: str
    summary: str | None = None

    def as_dict(self) -> dict[str, str]:
        cited = {"citation": self.text, "url": self.url}
        if self.summary:
            cited["summary"] = self.summary
        return cited


@dataclass(frozen=True)
class Cited:
    """One rule value with its citation."""

    value: Any
    citation: Citation


@dataclass(frozen=True)
class FeeLimit:
    """A state's limit on the cancellation fee: a cap (``amount``) or a ban."""

    kind: str
    amount: Decimal | None = None


@dataclass(frozen=True)
class ShortRateRow:
    """Through ``through_month`` months used (a started month counting), ``factor`` is unearned."""

    through_month: int
    factor: Decimal


@dataclass(frozen=True)
class StateRule:
    code: str
    name: str
    free_look_days: Cited | None = None
    cancellation_fee: Cited | None = None  # value: FeeLimit
    required_method: Cited | None = None  # value: one of REFUND_METHODS
    method_floor: Cited | None = None  # value: a method the refund may not fall below
    partial_month_min_days: Cited | None = None  # value: int, days for a partial month to count
    short_rate_table: Cited | None = None  # value: tuple[ShortRateRow, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleBook:
    version: str
    states: Mapping[str, StateRule] = field(default_factory=dict)

    def get(self, code: str | None) -> StateRule | None:
        if not code:
            return None
        return self.states.get(code.strip().upper())


def parse_rules(data: object, *, source: str = "state_rules.json") -> RuleBook:
    """Validate the rules document and build the rule book; :class:`RulesError` names what is wrong."""

    def fail(where: str, problem: str) -> RulesError:
        return RulesError(f"{source}: {where}: {problem}")

    if not isinstance(data, Mapping):
        raise fail("(top)", "must be an object with rules_version and states")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise fail(min(unknown), "unknown key")
    version = data.get("rules_version")
    if not isinstance(version, str) or not version.strip():
        raise fail("rules_version", "must be a non-empty string")
    states = data.get("states")
    if not isinstance(states, Mapping):
        raise fail("states", "must be an object keyed by two-letter state code")
    parsed: dict[str, StateRule] = {}
    for code, entry in states.items():
        parsed[code] = _parse_state(code, entry, fail)
    return RuleBook(version=version.strip(), states=parsed)


def load_rules(path: str | Path | None = None) -> RuleBook:
    """Read and validate a rules file (the shipped one by default)."""
    path = Path(path) if path is not None else RULES_PATH
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise RulesError(f"{path.name}: not valid JSON ({error})") from None
    return parse_rules(data, source=path.name)


@functools.lru_cache(maxsize=1)
def default_rules() -> RuleBook:
    """The shipped rules, loaded and validated once per process."""
    return load_rules(RULES_PATH)


# --- one state ----------------------------------------------------------------------------------


def _parse_state(code: object, entry: object, fail) -> StateRule:
    if not isinstance(code, str) or not _STATE_CODE.match(code):
        raise fail(f"states.{code}", "state codes are two capital letters, like NJ")
    if not isinstance(entry, Mapping):
        raise fail(code, "must be an object")
    unknown = set(entry) - _STATE_KEYS
    if unknown:
        raise fail(f"{code}.{min(unknown)}", "unknown key")
    for key in _REQUIRED_STATE_KEYS:
        if key not in entry:
            raise fail(f"{code}.{key}", "missing (use null where no rule is verified)")
    name = entry["name"]
    if not isinstance(name, str) or not name.strip():
        raise fail(f"{code}.name", "must be the state's name")
    notes = entry.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(note, str) and note.strip() for note in notes):
        raise fail(f"{code}.notes", "must be a list of sentences")

    def cited(key: str, read_value) -> Cited | None:
        raw = entry.get(key)
        if raw is None:
            return None
        where = f"{code}.{key}"
        if not isinstance(raw, Mapping):
            raise fail(where, "must be an object with a value, citation and url, or null")
        value = read_value(raw, where)
        return Cited(value=value, citation=_citation(raw, where, fail))

    def days(raw: Mapping, where: str) -> int:
        _only(raw, where, {"value"}, fail)
        value = raw.get("value")
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 365:
            raise fail(f"{where}.value", "must be a whole number of days from 0 to 365")
        return value

    def month_days(raw: Mapping, where: str) -> int:
        _only(raw, where, {"value"}, fail)
        value = raw.get("value")
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 31:
            raise fail(f"{where}.value", "must be a whole number of days from 1 to 31")
        return value

    def method(raw: Mapping, where: str) -> str:
        _only(raw, where, {"value"}, fail)
        value = raw.get("value")
        if value not in REFUND_METHODS:
            raise fail(f"{where}.value", f"must be one of {', '.join(REFUND_METHODS)}")
        return value

    def fee(raw: Mapping, where: str) -> FeeLimit:
        _only(raw, where, {"rule", "amount"}, fail)
        kind = raw.get("rule")
        if kind not in FEE_KINDS:
            raise fail(f"{where}.rule", "must be cap or ban")
        if kind == "ban":
            if raw.get("amount") is not None:
                raise fail(f"{where}.amount", "a ban has no amount")
            return FeeLimit("ban")
        amount = raw.get("amount")
        if not isinstance(amount, str) or not _AMOUNT.match(amount):
            raise fail(f"{where}.amount", "must be an amount like 50.00 (a string)")
        return FeeLimit("cap", Decimal(amount))

    def table(raw: Mapping, where: str) -> tuple[ShortRateRow, ...]:
        _only(raw, where, {"value"}, fail)
        try:
            return parse_short_rate_table(raw.get("value"))
        except ValueError as error:
            raise fail(f"{where}.value", str(error)) from None

    return StateRule(
        code=code,
        name=name.strip(),
        free_look_days=cited("free_look_days", days),
        cancellation_fee=cited("cancellation_fee", fee),
        required_method=cited("required_method", method),
        method_floor=cited("method_floor", method),
        partial_month_min_days=cited("partial_month_min_days", month_days),
        short_rate_table=cited("short_rate_table", table),
        notes=tuple(note.strip() for note in notes),
    )


def _only(raw: Mapping, where: str, allowed: set[str], fail) -> None:
    unknown = set(raw) - allowed - {"citation", "summary", "url"}
    if unknown:
        raise fail(f"{where}.{min(unknown)}", "unknown key")


def _citation(raw: Mapping, where: str, fail) -> Citation:
    text = raw.get("citation")
    if not isinstance(text, str) or not text.strip():
        raise fail(f"{where}.citation", "every rule needs the statute or regulation it comes from")
    url = raw.get("url")
    if not isinstance(url, str) or not _URL.match(url):
        raise fail(f"{where}.url", "every rule needs the address where its text can be read")
    summary = raw.get("summary")
    if summary is not None and (not isinstance(summary, str) or not summary.strip()):
        raise fail(f"{where}.summary", "must be a sentence in our own words, or left out")
    return Citation(text=text.strip(), url=url, summary=summary.strip() if summary else None)


def parse_short_rate_table(raw: object) -> tuple[ShortRateRow, ...]:
    """Rows ``[[through_month, "factor"], ...]``: months rising, factors in 0..1 and never rising.

    Raises ValueError saying what is wrong; used for the rules file and for a contract's table.
    """
    if not isinstance(raw, (list, tuple)) or not raw:
        raise ValueError("a short-rate table is a non-empty list of [through_month, factor] rows")
    rows: list[ShortRateRow] = []
    for index, row in enumerate(raw):
        if isinstance(row, ShortRateRow):
            month, factor = row.through_month, row.factor
        elif isinstance(row, (list, tuple)) and len(row) == 2:
            month, factor = row
        else:
            raise ValueError(f"row {index + 1} must be [through_month, factor]")
        if isinstance(month, bool) or not isinstance(month, int) or month < 1:
            raise ValueError(f"row {index + 1}: through_month must be a whole number of months from 1")
        if isinstance(factor, float):
            raise ValueError(f"row {index + 1}: factor must be a decimal string like \"0.85\", not a float")
        try:
            factor = Decimal(str(factor))
        except InvalidOperation:
            raise ValueError(f"row {index + 1}: factor must be a decimal like 0.85") from None
        if not factor.is_finite() or not 0 <= factor <= 1:
            raise ValueError(f"row {index + 1}: factor must be between 0 and 1")
        if rows and month <= rows[-1].through_month:
            raise ValueError(f"row {index + 1}: months must rise from row to row")
        if rows and factor > rows[-1].factor:
            raise ValueError(f"row {index + 1}: the unearned factor may not rise as months pass")
        rows.append(ShortRateRow(month, factor))
    return tuple(rows)
