"""Properties every refund quote keeps, whatever the contract, date, state or method."""

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pipeline.refunds.formulas import (
    REASONS,
    actuarial_factor,
    coverage_end,
    quote_refund,
    rule_of_78_factor,
)
from pipeline.refunds.rules import load_rules

RULES = load_rules()
STATES = [None, "ZZ", *sorted(RULES.states)]
METHODS = ["pro_rata", "rule_of_78", "short_rate", "actuarial", None]
# No example database: the tests leave nothing behind in the worktree.
PROPERTY = settings(max_examples=300, deadline=None, database=None)

cents = st.integers(min_value=1, max_value=10_000_000).map(lambda n: Decimal(n).scaleb(-2))
fees = st.one_of(st.none(), st.integers(min_value=0, max_value=50_000).map(lambda n: Decimal(n).scaleb(-2)))
starts = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))
terms = st.integers(min_value=1, max_value=120)
aprs = st.integers(min_value=0, max_value=3600).map(lambda n: Decimal(n).scaleb(-2))


@st.composite
def short_rate_tables(draw, term: int):
    """A table covering the term: months rising to the term, unearned factors never rising."""
    months = sorted(draw(st.sets(st.integers(min_value=1, max_value=term), max_size=6)) | {term})
    factors = sorted(
        (Decimal(draw(st.integers(min_value=0, max_value=100))).scaleb(-2) for _ in months), reverse=True
    )
    return [[month, str(factor)] for month, factor in zip(months, factors)]


ANY_METHOD = st.sampled_from(METHODS)


@st.composite
def contracts(draw, method=ANY_METHOD):
    term = draw(terms)
    chosen = draw(method)
    return {
        "premium": draw(cents),
        "method": chosen,
        "fee": draw(fees),
        "start_date": draw(starts),
        "term_months": term,
        "reason": draw(st.sampled_from([r for r in REASONS if r != "unwind"])),
        "claim_paid": False,
        "state": draw(st.sampled_from(STATES)),
        "rules": RULES,
        "apr": draw(aprs),
        "short_rate_table": draw(st.one_of(st.none(), short_rate_tables(term))) if chosen == "short_rate" else None,
    }


def days_into(draw, terms: dict) -> date:
    """A cancellation date from the start to a little past the end of the coverage."""
    span = (coverage_end(terms["start_date"], terms["term_months"]) - terms["start_date"]).days
    return terms["start_date"] + timedelta(days=draw(st.integers(min_value=0, max_value=span + 40)))


@PROPERTY
@given(st.data(), contracts(), st.booleans(), st.sampled_from(list(REASONS)))
def test_the_refund_is_between_zero_and_the_premium_and_gross_is_in_cents(data, terms, claim_paid, reason):
    terms = {**terms, "claim_paid": claim_paid, "reason": reason}
    result = quote_refund(**terms, cancellation_date=days_into(data.draw, terms))
    assert Decimal("0.00") <= result.refund <= terms["premium"]
    assert Decimal("0.00") <= result.fee_applied <= result.gross_refund <= terms["premium"]
    assert result.refund == result.gross_refund - result.fee_applied  # the fee never makes it negative
    for amount in (result.refund, result.gross_refund, result.fee_applied):
        assert amount.as_tuple().exponent == -2
    assert Decimal(0) <= result.factor <= Decimal(1)
    assert result.eligible == (result.reason_code in {"free_look", "unwind", "unearned_refund"})


@PROPERTY
@given(st.data(), contracts())
def test_the_factor_never_rises_as_the_cancellation_moves_later(data, terms):
    first, second = sorted([days_into(data.draw, terms), days_into(data.draw, terms)])
    earlier = quote_refund(**terms, cancellation_date=first)
    later = quote_refund(**terms, cancellation_date=second)
    assert later.factor <= earlier.factor
    assert later.gross_refund <= earlier.gross_refund


@PROPERTY
@given(st.data(), contracts(method=st.just("pro_rata")))
def test_the_rule_of_78_never_refunds_more_than_pro_rata(data, terms):
    terms = {**terms, "state": None}  # no state rule replacing either method
    cancelled = days_into(data.draw, terms)
    pro_rata = quote_refund(**terms, cancellation_date=cancelled)
    rule_of_78 = quote_refund(**{**terms, "method": "rule_of_78"}, cancellation_date=cancelled)
    assert rule_of_78.factor <= pro_rata.factor
    assert rule_of_78.gross_refund <= pro_rata.gross_refund


@PROPERTY
@given(terms, st.integers(min_value=0, max_value=120), aprs)
def test_the_actuarial_share_is_at_least_the_rule_of_78(term, used, apr):
    used = min(used, term)
    assert rule_of_78_factor(term, used) <= actuarial_factor(term, used, apr) <= 1


@PROPERTY
@given(contracts(), st.integers(min_value=0, max_value=30))
def test_the_free_look_returns_the_whole_premium(terms, day):
    # Every state in the rules has a free look of 30 days or none (the 30-day default then applies).
    cancelled = terms["start_date"] + timedelta(days=day)
    assume(cancelled < coverage_end(terms["start_date"], terms["term_months"]))  # a 1-month cover can end first
    result = quote_refund(**terms, cancellation_date=cancelled)
    assert (result.reason_code, result.refund, result.fee_applied) == ("free_look", terms["premium"], Decimal("0.00"))
