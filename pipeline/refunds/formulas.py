"""How much of a GAP charge comes back when the coverage ends early: pure, no I/O.

:func:`quote_refund` takes the contract's terms (premium, method, fee, start, term), the request
(cancellation date, reason, whether a claim was paid), the state and its rules, and returns a
frozen :class:`RefundQuote`: eligibility with a stable ``reason_code``, the money, the factor,
every step in words an agent can read to the customer, every input with its source, warnings, and
the rules version. Bad input raises :class:`BadInput` (a 422 naming the field); an input the
chosen method needs but does not have raises :class:`MissingInput`. Money is Decimal throughout.

Conventions (the numbers an auditor recomputes):

- **Coverage** starts on the contract start date and ends ``term_months`` calendar months later,
  the day clamped to that month's end (2024-01-31 + 1 month = 2024-02-29), always counted from the
  start, never chained. ``days_total = end - start``; ``days_used = cancellation - start``. The
  days from the start to the day before the cancellation are used; the cancellation day itself is
  unearned. A cancellation on the start date has used nothing; one on or after the end date has
  used everything.
- **Free look**: a cancellation with ``days_used <= N`` is within an N-day free look (day N is
  still in, day N+1 is out), as the statutes word it ("within 30 days after", "not later than the
  30th day after": Wis. Stat. § 218.0148(5)(c), Tex. Fin. Code § 354.007(c)). N is the state's
  minimum where its rule sets one, else ``free_look_default_days`` (setting REFUND_FREE_LOOK_DAYS). Within it and
  with no claim paid, the whole premium comes back and no fee is charged.
- **Months used** (rule of 78, short-rate tables, actuarial): the whole months elapsed from the
  start (month k ends on start + k months), plus one for a month that has started, capped at the
  term. Where the state says a partial month counts only from some number of days on
  (``partial_month_min_days``, e.g. 16 in Wisconsin), a partial month of fewer days is not counted.
- **pro_rata**: ``factor = (days_total - days_used) / days_total``.
- **rule_of_78**: with T the term in months and U = T - months used,
  ``factor = U(U+1) / (T(T+1))``.
- **short_rate**: the state's short-rate table if the rules give one, else the contract's table,
  looked up by months used; with neither, 90 % of the pro rata factor, with a warning.
- **actuarial**: the "sum of the balances" share, see :func:`actuarial_factor`; it needs the APR.
  Without it, :class:`MissingInput` ("apr") is raised rather than falling back to pro rata, which
  would refund more than the contract promises; the API answers 422 naming the input.
- **Money**: ``gross = premium x factor`` from the exact factor (not the 6-place one shown),
  rounded half-up to cents. The fee applied is the contract's fee, capped or removed by the
  state's rule, and never more than the gross; ``refund = gross - fee``. A fee the contract does
  not state (None) is taken as none, with a warning. The factor is reported to 6 places.
- **Method**: the state's required method overrides the contract's (a warning says so when they
  differ); with no method from the contract, the state's required method or else pro rata is
  used, with a warning. A state's minimum method (``method_floor``, the rule of 78 in Wisconsin)
  replaces a computed factor that would fall below it.

Eligibility, in this order:

1. A cancellation before the start date is bad input (:class:`BadInput`, field
   ``cancellation_date``).
2. ``claim_paid``: not eligible (``claim_paid``), whatever the reason. A paid total-loss claim is
   the coverage doing its job; and the statutes make refunds depend on no benefit having been
   provided (e.g. N.J. Stat. § 17:16BB-6(a), Ark. Code § 4-90-806(b)(1), Wis. Stat.
   § 218.0148(5)(d)). A reason other than total loss with a paid claim gets a warning to check
   the record. A total loss with no claim paid is eligible like any other early termination.
3. On or after the coverage end: not eligible (``expired``); nothing is left unearned.
4. ``unwind`` (the sale unwound: the loan never funded or the vehicle went back): the coverage is
   void from the start, so the whole premium comes back with no fee (``unwind``), with a warning
   that the administrator will want proof of the unwind.
5. Within the free look: the whole premium (``free_look``).
6. Otherwise the unearned share by the method (``unearned_refund``); it can come to 0.00 (the last
   partial month under the rule of 78, or a fee as large as the gross), which the reason text says.
   Repossession adds a warning that the refund may go to the lender against the balance owed.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation, localcontext
from types import MappingProxyType
from typing import Any

from pipeline.core.errors import ValidationFailed
from pipeline.refunds.rules import Cited, RuleBook, ShortRateRow, StateRule, parse_short_rate_table
from pipeline.vocabulary import REFUND_METHODS

FORMULAS_VERSION = "1"

REASONS: Mapping[str, str] = MappingProxyType(
    {
        "customer_request": "the customer's request",
        "payoff": "early payoff of the loan",
        "trade_in": "trade-in or sale of the vehicle",
        "refinance": "refinance of the loan",
        "repossession": "repossession of the vehicle",
        "total_loss": "total loss of the vehicle",
        "unwind": "unwind of the sale",
    }
)
METHOD_NAMES: Mapping[str, str] = MappingProxyType(
    {"pro_rata": "pro rata", "rule_of_78": "rule of 78", "short_rate": "short rate", "actuarial": "actuarial"}
)
REASON_CODES = ("free_look", "unwind", "unearned_refund", "expired", "claim_paid")

MAX_PREMIUM = Decimal(100000)
MAX_TERM_MONTHS = 240
MAX_APR = Decimal(100)
MAX_FREE_LOOK_DAYS = 365
SHORT_RATE_SHARE_OF_PRO_RATA = Decimal("0.90")
CENT = Decimal("0.01")
FACTOR_PLACES = Decimal("0.000001")
_ONE = Decimal(1)
_ZERO = Decimal(0)
# Wide enough that no intermediate rounding can move a cent.
_EXACT = Context(prec=50)


class BadInput(ValidationFailed):
    """An input the quote cannot use; ``field`` names it (the API answers 422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, details={"field": field})
        self.field = field


class MissingInput(BadInput):
    """The chosen method needs an input the caller does not have (e.g. the APR for actuarial)."""

    code = "missing_input"


@dataclass(frozen=True)
class Step:
    """One step of the computation as an agent would say it, with its figure if it has one."""

    text: str
    figure: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {"text": self.text} if self.figure is None else {"text": self.text, "figure": self.figure}


@dataclass(frozen=True)
class RefundQuote:
    """One quote, immutable. ``method`` is the method the refund was computed with (the state's
    required or minimum method where it replaced the contract's), None when none was needed (free
    look, unwind, not eligible); ``factor`` is the unearned share to 6 places (1 for a full
    refund, 0 when not eligible); ``inputs`` maps each value used to its source descriptor."""

    eligible: bool
    reason_code: str
    reason_text: str
    refund: Decimal
    gross_refund: Decimal
    fee_applied: Decimal
    method: str | None
    factor: Decimal
    steps: tuple[Step, ...]
    inputs: Mapping[str, Mapping[str, Any]]
    warnings: tuple[str, ...]
    rules_version: str
    formulas_version: str = FORMULAS_VERSION

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: money and the factor as strings, steps and inputs as plain objects."""
        return {
            "eligible": self.eligible,
            "reason_code": self.reason_code,
            "reason_text": self.reason_text,
            "refund": str(self.refund),
            "gross_refund": str(self.gross_refund),
            "fee_applied": str(self.fee_applied),
            "method": self.method,
            "factor": str(self.factor),
            "steps": [step.as_dict() for step in self.steps],
            "inputs": _thaw(self.inputs),
            "warnings": list(self.warnings),
            "rules_version": self.rules_version,
            "formulas_version": self.formulas_version,
        }


# --- the calendar -------------------------------------------------------------------------------


def add_months(start: date, months: int) -> date:
    """``start`` plus whole calendar months, the day clamped to the month's end."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def coverage_end(start: date, term_months: int) -> date:
    return add_months(start, term_months)


def months_used(start: date, cancellation: date, term_months: int, partial_month_min_days: int = 1) -> int:
    """Whole months elapsed plus a started month (of at least ``partial_month_min_days`` days), capped."""
    if cancellation <= start:
        return 0
    full = 0
    while full < term_months and add_months(start, full + 1) <= cancellation:
        full += 1
    if full >= term_months:
        return term_months
    partial_days = (cancellation - add_months(start, full)).days
    return min(term_months, full + (1 if partial_days >= max(1, partial_month_min_days) else 0))


# --- the factors (exact; the quote rounds) ------------------------------------------------------


def pro_rata_factor(days_total: int, days_used: int) -> Decimal:
    if days_total <= 0:
        raise ValueError("days_total must be positive")
    used = min(max(days_used, 0), days_total)
    with localcontext(_EXACT):
        return Decimal(days_total - used) / Decimal(days_total)


def rule_of_78_factor(term_months: int, used_months: int) -> Decimal:
    remaining = term_months - min(max(used_months, 0), term_months)
    with localcontext(_EXACT):
        return Decimal(remaining * (remaining + 1)) / Decimal(term_months * (term_months + 1))


def actuarial_factor(term_months: int, used_months: int, apr: Decimal) -> Decimal:
    """The unearned share by the actuarial ("sum of the balances") method.

    GAP protects the loan's balance, so the coverage in force in month k is the scheduled balance
    of a level-payment loan after k payments, B_k = P((1+i)^T - (1+i)^k) / ((1+i)^T - 1) with
    i = APR / 12. The share earned by a month is its balance over the sum of all T balances, and
    the unearned share after m months used is sum(B_m..B_T-1) / sum(B_0..B_T-1); P cancels out.
    This is the actuarial refund for coverage that follows the declining loan balance, as public
    credit-insurance refund rules name it (e.g. Utah Admin. Code R590-91-9(4), the "actuarial
    method, also known as the U.S. Rule or the pure premium method", for net-indebtedness
    coverage; N.H. Admin. Code Ins 1201.05(c), "pure premium"). Discounting future coverage for
    interest, which a full pure-premium computation may add, is not applied. At 0 % APR the
    balances fall in a straight line and the share is exactly the rule of 78; the higher the APR,
    the slower the balance falls and the closer the share comes to pro rata.
    """
    used = min(max(used_months, 0), term_months)
    if used == 0:
        return _ONE
    if used == term_months:
        return _ZERO
    with localcontext(_EXACT):
        rate = apr / Decimal(1200)
        if rate == 0:
            balances = [Decimal(term_months - k) for k in range(term_months)]
        else:
            growth = _ONE + rate
            final = growth**term_months
            balances = [final - growth**k for k in range(term_months)]
        return sum(balances[used:], _ZERO) / sum(balances, _ZERO)


def short_rate_table_factor(table: Sequence[ShortRateRow], used_months: int) -> Decimal:
    """The table's unearned factor for the months used (the first row reaching them); 1 before any."""
    if used_months <= 0:
        return _ONE
    for row in table:
        if row.through_month >= used_months:
            return row.factor
    raise ValueError(f"the short-rate table stops at month {table[-1].through_month}")


# --- the quote ----------------------------------------------------------------------------------


def quote_refund(
    *,
    premium: Decimal,
    method: str | None,
    fee: Decimal | None,
    start_date: date,
    term_months: int,
    cancellation_date: date,
    reason: str,
    claim_paid: bool,
    state: str | None,
    rules: RuleBook,
    free_look_default_days: int = 30,
    apr: Decimal | None = None,
    short_rate_table: Sequence[Any] | None = None,
    sources: Mapping[str, Mapping[str, Any]] | None = None,
) -> RefundQuote:
    """The refund quote for one contract and one cancellation; see the module's conventions.

    ``sources`` maps an input's name (``premium``, ``method``, ``fee``, ``start_date``,
    ``term_months``, ``cancellation_date``, ``reason``, ``claim_paid``, ``state``, ``apr``,
    ``short_rate_table``) to its source descriptor, e.g. ``{"source": "extraction", "quote":
    "..."}``; each is carried into ``inputs`` with ``value`` set to the value actually used.
    """
    premium = _money("premium", premium, positive=True)
    fee = None if fee is None else _money("fee", fee)
    if method is not None and method not in REFUND_METHODS:
        raise BadInput("method", f"method must be one of {', '.join(REFUND_METHODS)} or missing; got {method!r}")
    start_date = _day("start_date", start_date)
    cancellation_date = _day("cancellation_date", cancellation_date)
    term_months = _whole("term_months", term_months, 1, MAX_TERM_MONTHS)
    free_look_default_days = _whole("free_look_default_days", free_look_default_days, 0, MAX_FREE_LOOK_DAYS)
    if reason not in REASONS:
        raise BadInput("reason", f"reason must be one of {', '.join(REASONS)}; got {reason!r}")
    if not isinstance(claim_paid, bool):
        raise BadInput("claim_paid", "claim_paid must be true or false")
    if apr is not None:
        apr = _decimal("apr", apr)
        if not _ZERO <= apr <= MAX_APR:
            raise BadInput("apr", f"apr is a yearly percentage from 0 to {MAX_APR}; got {apr}")
    table = None
    if short_rate_table is not None:
        try:
            table = parse_short_rate_table(short_rate_table)
        except ValueError as error:
            raise BadInput("short_rate_table", str(error)) from None
    if cancellation_date < start_date:
        raise BadInput(
            "cancellation_date",
            f"the cancellation date {cancellation_date.isoformat()} is before the coverage started on "
            f"{start_date.isoformat()}",
        )
    state_code = state.strip().upper() if isinstance(state, str) and state.strip() else None

    quote = _Builder(rules_version=rules.version, sources=sources or {})
    quote.given("premium", str(premium))
    quote.given("method", method)
    quote.given("fee", None if fee is None else str(fee))
    quote.given("start_date", start_date.isoformat())
    quote.given("term_months", term_months)
    quote.given("cancellation_date", cancellation_date.isoformat())
    quote.given("reason", reason)
    quote.given("claim_paid", claim_paid)
    quote.given("state", state_code)
    if apr is not None:
        quote.given("apr", str(apr))
    if table is not None:
        quote.given("short_rate_table", [[row.through_month, str(row.factor)] for row in table])

    rule = rules.get(state_code)
    quote.added("state_rule", state_code if rule else None, "rules", rules_version=rules.version,
                state_name=rule.name if rule else None, notes=list(rule.notes) if rule else [])
    if state_code is None:
        quote.warn("state unknown: no state rule applied")
    elif rule is None:
        quote.warn(f"state rule unknown for {state_code}: contract terms and defaults applied")

    end = coverage_end(start_date, term_months)
    days_total = (end - start_date).days
    days_used = (cancellation_date - start_date).days
    quote.step(
        f"The coverage runs {days_total:,} days from {start_date.isoformat()} to {end.isoformat()} "
        f"({term_months} months).",
        f"{days_total:,} days",
    )
    quote.step(
        f"It was cancelled on {cancellation_date.isoformat()} because of {REASONS[reason]}, "
        f"{days_used:,} days after it started.",
        f"{days_used:,} days",
    )

    if claim_paid:
        if reason != "total_loss":
            quote.warn(f"a claim was paid but the reason given is {reason}: check the record")
        what = "the total-loss claim" if reason == "total_loss" else "a claim"
        quote.step(f"GAP has already paid {what}, so no part of the charge is unearned.")
        return quote.ineligible("claim_paid", f"No refund: the GAP coverage already paid {what}.")

    if cancellation_date >= end:
        quote.step(f"The coverage ended on {end.isoformat()}, so all of it has been used.")
        return quote.ineligible(
            "expired", f"No refund: the GAP coverage ran its full term and ended on {end.isoformat()}."
        )

    if reason == "unwind":
        quote.warn("unwind: the administrator will want proof that the loan never funded or the vehicle was returned")
        quote.step("The sale was unwound, so the coverage is void from the start and the whole charge comes back.")
        return quote.full_refund(
            "unwind", f"Full refund of {_dollars(premium)}: the sale was unwound, so the coverage never took effect.",
            premium,
        )

    free_look = _free_look(quote, rule, free_look_default_days)
    if days_used <= free_look:
        quote.step(
            f"{days_used:,} days is within the {free_look}-day free-look period, so the whole charge comes back "
            f"with no fee.",
            _dollars(premium),
        )
        return quote.full_refund(
            "free_look",
            f"Full refund of {_dollars(premium)}: cancelled {days_used} days after the start, within the "
            f"{free_look}-day free-look period.",
            premium,
        )
    quote.step(f"{days_used:,} days is past the {free_look}-day free-look period.")

    used_method = _method(quote, method, rule)
    partial_days = 1
    if rule is not None and rule.partial_month_min_days is not None:
        partial_days = rule.partial_month_min_days.value
        quote.added("partial_month_min_days", partial_days, "state_rule", **rule.partial_month_min_days.citation.as_dict())
    months = months_used(start_date, cancellation_date, term_months, partial_days)
    exact = _factor(quote, used_method, rule, table, apr, days_total, days_used, term_months, months, partial_days)

    if rule is not None and rule.method_floor is not None and rule.method_floor.value != used_method:
        floor_method = rule.method_floor.value
        floor = _bare_factor(floor_method, rule, table, apr, days_total, days_used, term_months, months)
        quote.added("method_floor", floor_method, "state_rule", **rule.method_floor.citation.as_dict())
        if floor > exact:
            quote.warn(
                f"the {METHOD_NAMES[used_method]} refund is below the {METHOD_NAMES[floor_method]} minimum for "
                f"{rule.code} ({rule.method_floor.citation.text}): {METHOD_NAMES[floor_method]} used"
            )
            quote.step(
                f"{rule.name} requires at least the {METHOD_NAMES[floor_method]} refund, which is higher: "
                f"{_factor_text(floor)} of the charge.",
                _factor_text(floor),
            )
            used_method, exact = floor_method, floor

    with localcontext(_EXACT):
        gross = (premium * exact).quantize(CENT, rounding=ROUND_HALF_UP)
    quote.step(
        f"Unearned charge: {_dollars(premium)} x {_factor_text(exact)} = {_dollars(gross)} (rounded to the cent).",
        _dollars(gross),
    )
    fee_applied = _fee(quote, fee, rule, gross)
    refund = gross - fee_applied
    quote.step(f"Refund: {_dollars(gross)} - {_dollars(fee_applied)} fee = {_dollars(refund)}.", _dollars(refund))
    if reason == "repossession":
        quote.warn("repossession: the refund may be paid to the lender and applied to the balance still owed")
    if refund == 0:
        text = (
            f"Eligible, but the refund comes to {_dollars(refund)}: nothing is left after the "
            f"{METHOD_NAMES[used_method]} share and the fee."
        )
    else:
        text = (
            f"Refund of {_dollars(refund)}: the unearned {METHOD_NAMES[used_method]} share of the "
            f"{_dollars(premium)} charge{' less the ' + _dollars(fee_applied) + ' fee' if fee_applied else ''}."
        )
    return quote.finish(
        eligible=True, reason_code="unearned_refund", reason_text=text, refund=refund, gross=gross,
        fee_applied=fee_applied, method=used_method, factor=exact,
    )


# --- parts of the quote -------------------------------------------------------------------------


@dataclass
class _Builder:
    rules_version: str
    sources: Mapping[str, Mapping[str, Any]]
    steps: list[Step] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def step(self, text: str, figure: str | None = None) -> None:
        self.steps.append(Step(text, figure))

    def warn(self, text: str) -> None:
        self.warnings.append(text)

    def given(self, name: str, value: Any) -> None:
        """An input from the caller, with the caller's source descriptor; ``value`` is what was used."""
        descriptor = dict(self.sources.get(name) or {})
        claimed = descriptor.get("value")
        if claimed is not None and value is not None and str(claimed) != str(value):
            self.warn(f"{name}: its source gives {claimed} but {value} was used")
        descriptor["value"] = value
        descriptor.setdefault("source", "caller")
        self.inputs[name] = descriptor

    def added(self, name: str, value: Any, source: str, **extra: Any) -> None:
        """A value the quote took from the state rules or a default."""
        self.inputs[name] = {"value": value, "source": source, **extra}

    def full_refund(self, code: str, text: str, premium: Decimal) -> RefundQuote:
        return self.finish(
            eligible=True, reason_code=code, reason_text=text, refund=premium, gross=premium,
            fee_applied=_ZERO.quantize(CENT), method=None, factor=_ONE,
        )

    def ineligible(self, code: str, text: str) -> RefundQuote:
        zero = _ZERO.quantize(CENT)
        return self.finish(
            eligible=False, reason_code=code, reason_text=text, refund=zero, gross=zero, fee_applied=zero,
            method=None, factor=_ZERO,
        )

    def finish(self, *, eligible: bool, reason_code: str, reason_text: str, refund: Decimal, gross: Decimal,
               fee_applied: Decimal, method: str | None, factor: Decimal) -> RefundQuote:
        return RefundQuote(
            eligible=eligible,
            reason_code=reason_code,
            reason_text=reason_text,
            refund=refund,
            gross_refund=gross,
            fee_applied=fee_applied,
            method=method,
            factor=factor.quantize(FACTOR_PLACES, rounding=ROUND_HALF_UP),
            steps=tuple(self.steps),
            inputs=_freeze(self.inputs),
            warnings=tuple(self.warnings),
            rules_version=self.rules_version,
        )


def _free_look(quote: _Builder, rule: StateRule | None, default_days: int) -> int:
    """The state rule's free-look minimum where the state sets one, else the lender's default
    (REFUND_FREE_LOOK_DAYS)."""
    state_rule = rule.free_look_days if rule is not None else None
    if state_rule is not None:
        quote.added("free_look_days", state_rule.value, "state_rule", **state_rule.citation.as_dict())
        quote.step(
            f"The free-look period is {state_rule.value} days, the {rule.name} minimum "
            f"({state_rule.citation.text}).",
            f"{state_rule.value} days",
        )
        return state_rule.value
    quote.added("free_look_days", default_days, "default", setting="REFUND_FREE_LOOK_DAYS")
    quote.step(f"The free-look period is {default_days} days (the lender's default).", f"{default_days} days")
    return default_days


def _method(quote: _Builder, method: str | None, rule: StateRule | None) -> str:
    required: Cited | None = rule.required_method if rule is not None else None
    if required is not None:
        quote.added("required_method", required.value, "state_rule", **required.citation.as_dict())
        wanted = required.value
        if method is None:
            quote.warn(f"method missing: {METHOD_NAMES[wanted]} used as {rule.code} requires ({required.citation.text})")
            quote.step(f"The contract's refund method is not known; {rule.name} requires {METHOD_NAMES[wanted]}.")
        elif method != wanted:
            quote.warn(
                f"the contract says {METHOD_NAMES[method]} but {rule.code} requires {METHOD_NAMES[wanted]} "
                f"({required.citation.text}): {METHOD_NAMES[wanted]} used"
            )
            quote.step(f"The contract says {METHOD_NAMES[method]}, but {rule.name} requires {METHOD_NAMES[wanted]}.")
        else:
            quote.step(f"Refund method: {METHOD_NAMES[wanted]}, as the contract says and {rule.name} requires.")
        return wanted
    if method is None:
        quote.added("assumed_method", "pro_rata", "default")
        quote.warn("method missing: pro rata assumed (no state rule requires a method)")
        quote.step("The contract's refund method is not known, so pro rata is assumed.")
        return "pro_rata"
    quote.step(f"Refund method: {METHOD_NAMES[method]}, as the contract says.")
    return method


def _factor(quote: _Builder, method: str, rule: StateRule | None, table: tuple[ShortRateRow, ...] | None,
            apr: Decimal | None, days_total: int, days_used: int, term: int, months: int,
            partial_days: int) -> Decimal:
    """The exact factor for the method, with its steps and warnings."""
    if method == "pro_rata":
        factor = pro_rata_factor(days_total, days_used)
        quote.step(
            f"Unused share, pro rata by days: ({days_total:,} - {days_used:,}) / {days_total:,} = "
            f"{_factor_text(factor)}.",
            _factor_text(factor),
        )
        return factor
    quote.step(_months_text(months, term, partial_days), f"{months} months")
    if method == "rule_of_78":
        factor = rule_of_78_factor(term, months)
        left = term - months
        quote.step(
            f"Rule of 78 with {left} of {term} months left: ({left} x {left + 1}) / ({term} x {term + 1}) = "
            f"{_factor_text(factor)}.",
            _factor_text(factor),
        )
        return factor
    if method == "actuarial":
        if apr is None:
            raise MissingInput(
                "apr",
                "the actuarial method needs the loan's APR to schedule its balances; supply apr (a yearly "
                "percentage) or correct the refund method",
            )
        factor = actuarial_factor(term, months, apr)
        quote.step(
            f"Actuarial: the scheduled loan balances (level payments at {apr}% APR) for the {term - months} "
            f"months left are {_factor_text(factor)} of the balances over all {term} months.",
            _factor_text(factor),
        )
        return factor
    # short_rate
    if rule is not None and rule.short_rate_table is not None:
        source, rows = f"the {rule.name} short-rate table ({rule.short_rate_table.citation.text})", rule.short_rate_table.value
        quote.added("short_rate_table_source", rule.code, "state_rule", **rule.short_rate_table.citation.as_dict())
    elif table is not None:
        source, rows = "the contract's short-rate table", table
    else:
        pro_rata = pro_rata_factor(days_total, days_used)
        with localcontext(_EXACT):
            factor = pro_rata * SHORT_RATE_SHARE_OF_PRO_RATA
        quote.added("short_rate_share_of_pro_rata", str(SHORT_RATE_SHARE_OF_PRO_RATA), "default")
        quote.warn("short rate without a table: 90% of the pro rata factor used")
        quote.step(
            f"No short-rate table is configured, so 90% of the pro rata share is used: 0.90 x "
            f"({days_total:,} - {days_used:,}) / {days_total:,} = {_factor_text(factor)}.",
            _factor_text(factor),
        )
        return factor
    try:
        factor = short_rate_table_factor(rows, months)
    except ValueError as error:
        raise BadInput("short_rate_table", f"{error}, but {months} months of a {term}-month term are used") from None
    quote.step(f"Short rate from {source}: {months} months used leaves {_factor_text(factor)}.", _factor_text(factor))
    return factor


def _bare_factor(method: str, rule: StateRule | None, table: tuple[ShortRateRow, ...] | None, apr: Decimal | None,
                 days_total: int, days_used: int, term: int, months: int) -> Decimal:
    """A method's factor without steps (for a state's minimum method); 0 where it cannot be computed."""
    if method == "pro_rata":
        return pro_rata_factor(days_total, days_used)
    if method == "rule_of_78":
        return rule_of_78_factor(term, months)
    if method == "actuarial":
        return actuarial_factor(term, months, apr) if apr is not None else _ZERO
    rows = rule.short_rate_table.value if rule is not None and rule.short_rate_table is not None else table
    if rows is None:
        with localcontext(_EXACT):
            return pro_rata_factor(days_total, days_used) * SHORT_RATE_SHARE_OF_PRO_RATA
    try:
        return short_rate_table_factor(rows, months)
    except ValueError:
        return _ZERO


def _fee(quote: _Builder, fee: Decimal | None, rule: StateRule | None, gross: Decimal) -> Decimal:
    limit: Cited | None = rule.cancellation_fee if rule is not None else None
    if fee is None:
        quote.warn("cancellation fee unknown: none deducted; check the contract")
        quote.step("The contract's cancellation fee is not known, so no fee is deducted.", _dollars(_ZERO))
        charged = _ZERO.quantize(CENT)
    else:
        charged = fee
        quote.step(f"The contract's cancellation fee is {_dollars(fee)}.", _dollars(fee))
    if limit is not None:
        quote.added("fee_limit", limit.value.kind, "state_rule",
                    amount=None if limit.value.amount is None else str(limit.value.amount), **limit.citation.as_dict())
        if limit.value.kind == "ban":
            if charged:
                quote.step(f"{rule.name} forbids a cancellation fee ({limit.citation.text}), so none is charged.",
                           _dollars(_ZERO))
            charged = _ZERO.quantize(CENT)
        elif charged > limit.value.amount:
            charged = limit.value.amount
            quote.step(f"{rule.name} caps the fee at {_dollars(charged)} ({limit.citation.text}).", _dollars(charged))
    if charged > gross:
        charged = gross
        quote.step(f"The fee cannot exceed the unearned charge, so it is limited to {_dollars(gross)}.", _dollars(gross))
    return charged


def _freeze(value: Any) -> Any:
    """Read-only copies all the way down, so a stored quote cannot be changed by accident."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: _freeze(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(item) for item in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _thaw(item) for key, item in value.items()}
    if isinstance(value, tuple):
        return [_thaw(item) for item in value]
    return value


def _months_text(months: int, term: int, partial_days: int) -> str:
    rule = "a started month counts" if partial_days <= 1 else f"a partial month counts from {partial_days} days"
    return f"Months used: {months} of {term} ({rule})."


# --- checking and saying numbers ----------------------------------------------------------------


def _decimal(name: str, value: object) -> Decimal:
    if isinstance(value, (bool, float)):
        raise BadInput(name, f"{name} must be a Decimal or a decimal string, not {type(value).__name__}")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise BadInput(name, f"{name} must be a number like 795.00; got {str(value)[:40]!r}") from None
    if not number.is_finite():
        raise BadInput(name, f"{name} must be a finite number")
    return number


def _money(name: str, value: object, *, positive: bool = False) -> Decimal:
    amount = _decimal(name, value)
    if amount < 0 or (positive and amount == 0):
        raise BadInput(name, f"{name} must be {'more than' if positive else 'at least'} 0.00; got {amount}")
    if amount > MAX_PREMIUM:
        raise BadInput(name, f"{name} of {amount} is beyond any GAP contract ({MAX_PREMIUM} at most)")
    if amount != amount.quantize(CENT):
        raise BadInput(name, f"{name} must be in whole cents; got {amount}")
    return amount.quantize(CENT)


def _day(name: str, value: object) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise BadInput(name, f"{name} must be a calendar date like 2024-01-15")
    return value


def _whole(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadInput(name, f"{name} must be a whole number from {low} to {high}; got {value!r}")
    return value


def _dollars(amount: Decimal) -> str:
    return f"${amount:,.2f}"


def _factor_text(factor: Decimal) -> str:
    return str(factor.quantize(FACTOR_PLACES, rounding=ROUND_HALF_UP))
