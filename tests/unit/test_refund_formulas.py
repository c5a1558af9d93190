"""Worked refund quotes, each checked by hand (the arithmetic is in the comment beside it)."""

import json
from datetime import date, datetime
from decimal import Decimal

import pytest

from pipeline.refunds.formulas import (
    BadInput,
    MissingInput,
    actuarial_factor,
    add_months,
    months_used,
    quote_refund,
    rule_of_78_factor,
)
from pipeline.refunds.rules import RuleBook, load_rules

RULES = load_rules()
D = Decimal


def quote(**overrides):
    """A $795.00 GAP charge, 60 months from 2024-01-15, paid off on 2025-03-01, $50.00 fee, no state rule."""
    terms = {
        "premium": D("795.00"), "method": "pro_rata", "fee": D("50.00"), "start_date": date(2024, 1, 15),
        "term_months": 60, "cancellation_date": date(2025, 3, 1), "reason": "payoff", "claim_paid": False,
        "state": "ZZ", "rules": RULES,
    }
    terms.update(overrides)
    return quote_refund(**terms)


# --- the calendar ---------------------------------------------------------------------------------


def test_months_are_added_from_the_start_with_the_day_clamped():
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 1, 31), 2) == date(2024, 3, 31)  # from the start, not chained via Feb 29
    assert add_months(date(2023, 11, 30), 3) == date(2024, 2, 29)
    assert add_months(date(2024, 1, 15), 60) == date(2029, 1, 15)


def test_months_used_count_a_started_month_unless_the_state_sets_a_minimum():
    assert months_used(date(2024, 1, 15), date(2024, 1, 15), 60) == 0
    assert months_used(date(2024, 1, 15), date(2024, 2, 15), 60) == 1  # exactly one month: the next not begun
    assert months_used(date(2024, 1, 15), date(2024, 2, 16), 60) == 2
    # 2024-01-15 + 2 months = 03-15; 03-20 is 5 days into month 3: counted, unless a month needs 16 days.
    assert months_used(date(2024, 1, 15), date(2024, 3, 20), 60) == 3
    assert months_used(date(2024, 1, 15), date(2024, 3, 20), 60, 16) == 2
    assert months_used(date(2024, 1, 15), date(2024, 3, 31), 60, 16) == 3  # 16 days in
    assert months_used(date(2024, 1, 15), date(2031, 1, 1), 60) == 60  # capped at the term


# --- one worked example per method ----------------------------------------------------------------


def test_pro_rata():
    # Coverage 2024-01-15 to 2029-01-15 = 5 x 365 + 2 leap days (2024-02-29, 2028-02-29) = 1,827 days.
    # Used to 2025-03-01: 366 (to 2025-01-15) + 17 (to 02-01) + 28 (to 03-01) = 411 days.
    # Factor (1,827 - 411) / 1,827 = 1,416 / 1,827 = 0.7750410...
    # Gross 795.00 x 1,416 / 1,827 = 1,125,720 / 1,827 = 616.1576... -> 616.16; less the $50.00 fee = 566.16.
    result = quote()
    assert (result.eligible, result.reason_code, result.method) == (True, "unearned_refund", "pro_rata")
    assert result.factor == D("0.775041")
    assert (result.gross_refund, result.fee_applied, result.refund) == (D("616.16"), D("50.00"), D("566.16"))
    assert result.steps[0].text == "The coverage runs 1,827 days from 2024-01-15 to 2029-01-15 (60 months)."
    assert "(1,827 - 411) / 1,827 = 0.775041" in " ".join(step.text for step in result.steps)
    assert result.warnings == ("state rule unknown for ZZ: contract terms and defaults applied",)


def test_rule_of_78():
    # 2024-03-10 + 6 months = 09-10; 09-25 has started month 7, so 7 of 24 months are used and U = 17.
    # Factor 17 x 18 / (24 x 25) = 306 / 600 = 0.51; gross 1,200.00 x 0.51 = 612.00; no fee.
    result = quote(premium=D("1200.00"), method="rule_of_78", fee=D("0.00"), start_date=date(2024, 3, 10),
                   term_months=24, cancellation_date=date(2024, 9, 25))
    assert result.method == "rule_of_78" and result.factor == D("0.510000")
    assert (result.gross_refund, result.refund) == (D("612.00"), D("612.00"))
    assert any(step.text.startswith("Months used: 7 of 24") for step in result.steps)


def test_short_rate_from_the_contracts_table():
    # 2023-06-01 + 9 months = 2024-03-01; 03-15 starts month 10 -> the row through month 12: 0.70.
    # Gross 600.00 x 0.70 = 420.00; no fee.
    table = [[6, "0.85"], [12, "0.70"], [24, "0.40"], [36, "0.00"]]
    result = quote(premium=D("600.00"), method="short_rate", fee=D("0.00"), start_date=date(2023, 6, 1),
                   term_months=36, cancellation_date=date(2024, 3, 15), short_rate_table=table)
    assert (result.method, result.factor, result.refund) == ("short_rate", D("0.700000"), D("420.00"))
    assert not any("90%" in warning for warning in result.warnings)
    assert result.inputs["short_rate_table"]["value"][1] == (12, "0.70")
    assert result.as_dict()["inputs"]["short_rate_table"]["value"][1] == [12, "0.70"]


def test_short_rate_without_a_table_is_ninety_percent_of_pro_rata():
    # 2023-06-01 to 2026-06-01 = 365 + 366 + 365 = 1,096 days; used to 2024-06-01: 366; 730 left.
    # Factor 0.90 x 730 / 1,096 = 657 / 1,096 = 0.5994525... -> 0.599453.
    # Gross 600.00 x 657 / 1,096 = 394,200 / 1,096 = 359.6715... -> 359.67; less $25.00 = 334.67.
    result = quote(premium=D("600.00"), method="short_rate", fee=D("25.00"), start_date=date(2023, 6, 1),
                   term_months=36, cancellation_date=date(2024, 6, 1))
    assert (result.factor, result.gross_refund, result.refund) == (D("0.599453"), D("359.67"), D("334.67"))
    assert "short rate without a table: 90% of the pro rata factor used" in result.warnings


def test_actuarial_with_the_apr():
    # 3 months at 12% APR: i = 0.01, v = 1.01, v^3 = 1.030301; balances go as v^3 - v^k:
    # B0 = 0.030301, B1 = 0.020301, B2 = 0.010201; sum 0.060803.
    # 2024-01-01 + 1 month = 02-01; 02-10 starts month 2, so 2 are used and only B2 is left:
    # factor 0.010201 / 0.060803 = 0.1677713...; gross 300.00 x 10,201 / 60,803 = 50.3314... -> 50.33.
    # (The rule of 78 would leave 1 x 2 / (3 x 4) = 0.166667: interest keeps the balance up a little longer.)
    result = quote(premium=D("300.00"), method="actuarial", fee=D("0.00"), start_date=date(2024, 1, 1),
                   term_months=3, cancellation_date=date(2024, 2, 10), apr=D("12"))
    assert (result.method, result.factor, result.refund) == ("actuarial", D("0.167771"), D("50.33"))
    assert result.inputs["apr"]["value"] == "12"


def test_actuarial_without_the_apr_names_the_missing_input():
    with pytest.raises(MissingInput) as missing:
        quote(method="actuarial")
    assert missing.value.field == "apr" and missing.value.status == 422
    assert missing.value.details == {"field": "apr"}


def test_actuarial_without_the_apr_is_fine_where_it_is_not_used():
    # Within the free look no method is needed, so no APR either.
    assert quote(method="actuarial", cancellation_date=date(2024, 1, 20)).reason_code == "free_look"


def test_actuarial_at_zero_apr_is_the_rule_of_78():
    for used in range(61):
        assert actuarial_factor(60, used, D("0")) == rule_of_78_factor(60, used)


# --- state fee caps and bans ----------------------------------------------------------------------


def test_new_jersey_caps_the_fee_at_fifty_dollars():
    # Same contract as test_pro_rata: gross 616.16; the contract's $75.00 fee is capped at $50.00 -> 566.16.
    result = quote(state="NJ", fee=D("75.00"))
    assert (result.fee_applied, result.refund) == (D("50.00"), D("566.16"))
    assert result.inputs["fee_limit"]["citation"] == "N.J. Stat. § 17:16BB-6(a)"
    assert any("caps the fee at $50.00" in step.text for step in result.steps)
    assert result.warnings == ()


def test_a_fee_under_the_cap_is_left_alone():
    assert quote(state="AR", fee=D("40.00")).fee_applied == D("40.00")  # Arkansas caps at $75.00


def test_south_carolina_bans_the_fee():
    # Gross 616.16 as in test_pro_rata; SC forbids any cancellation fee -> refund 616.16.
    result = quote(state="SC", fee=D("50.00"))
    assert (result.fee_applied, result.refund) == (D("0.00"), D("616.16"))
    assert result.inputs["fee_limit"]["value"] == "ban"


def test_the_fee_is_never_more_than_the_gross():
    # 2028-12-20 leaves 12 days of December (20th to 31st) and 14 of January before the 15th: 26 of 1,827.
    # 795.00 x 26 / 1,827 = 20,670 / 1,827 = 11.3136... -> 11.31, under the $50.00 fee: fee 11.31, refund 0.00.
    result = quote(cancellation_date=date(2028, 12, 20))
    assert (result.gross_refund, result.fee_applied, result.refund) == (D("11.31"), D("11.31"), D("0.00"))
    assert result.eligible and "comes to $0.00" in result.reason_text


def test_an_unknown_fee_is_not_deducted_but_flagged():
    result = quote(fee=None)
    assert (result.fee_applied, result.refund) == (D("0.00"), D("616.16"))
    assert "cancellation fee unknown: none deducted; check the contract" in result.warnings


# --- the free-look edge -------------------------------------------------------------------------


def test_day_thirty_is_still_in_the_free_look():
    # 2024-01-15 + 30 days = 2024-02-14: days_used 30 <= 30 -> the whole 795.00, no fee.
    result = quote(cancellation_date=date(2024, 2, 14))
    assert (result.reason_code, result.refund, result.fee_applied, result.factor) == (
        "free_look", D("795.00"), D("0.00"), D("1.000000"))
    assert result.method is None


def test_day_thirty_one_is_out():
    # 2024-02-15 is day 31: (1,827 - 31) / 1,827 = 1,796 / 1,827; 795.00 x 1,796 / 1,827 = 1,427,820 / 1,827
    # = 781.5107... -> 781.51; less $50.00 = 731.51.
    result = quote(cancellation_date=date(2024, 2, 15))
    assert (result.reason_code, result.gross_refund, result.refund) == ("unearned_refund", D("781.51"), D("731.51"))


def test_the_free_look_is_the_state_minimum_where_there_is_one_else_the_default():
    # New Jersey's minimum is 30 days: it is the period, whatever the lender's default says.
    assert quote(state="NJ", free_look_default_days=45, cancellation_date=date(2024, 2, 24)).reason_code == "unearned_refund"
    result = quote(state="NJ", free_look_default_days=10, cancellation_date=date(2024, 2, 9))
    assert result.reason_code == "free_look" and result.inputs["free_look_days"]["source"] == "state_rule"
    # No state rule: the default (REFUND_FREE_LOOK_DAYS) decides, in both directions.
    assert quote(free_look_default_days=10, cancellation_date=date(2024, 2, 9)).reason_code == "unearned_refund"
    assert quote(free_look_default_days=45, cancellation_date=date(2024, 2, 24)).reason_code == "free_look"


# --- not eligible, and special reasons ------------------------------------------------------------


def test_expired_on_and_after_the_end_date():
    for day in (date(2029, 1, 15), date(2030, 6, 1)):
        result = quote(cancellation_date=day)
        assert (result.eligible, result.reason_code, result.refund) == (False, "expired", D("0.00"))


def test_total_loss_with_a_paid_claim_gets_nothing():
    result = quote(reason="total_loss", claim_paid=True)
    assert (result.eligible, result.reason_code, result.refund) == (False, "claim_paid", D("0.00"))
    assert "total-loss claim" in result.reason_text


def test_total_loss_without_a_claim_is_refunded_like_any_early_end():
    result = quote(reason="total_loss", claim_paid=False)
    assert (result.eligible, result.refund) == (True, D("566.16"))  # as test_pro_rata


def test_a_paid_claim_with_another_reason_is_flagged():
    result = quote(reason="payoff", claim_paid=True)
    assert result.reason_code == "claim_paid"
    assert "a claim was paid but the reason given is payoff: check the record" in result.warnings


def test_a_paid_claim_in_the_free_look_gets_nothing():
    assert quote(claim_paid=True, reason="total_loss", cancellation_date=date(2024, 1, 20)).refund == D("0.00")


def test_an_unwind_refunds_everything_without_a_fee():
    result = quote(reason="unwind", cancellation_date=date(2024, 6, 1))
    assert (result.reason_code, result.refund, result.fee_applied) == ("unwind", D("795.00"), D("0.00"))
    assert any(warning.startswith("unwind:") for warning in result.warnings)


def test_repossession_warns_that_the_lender_may_take_the_refund():
    result = quote(reason="repossession")
    assert result.refund == D("566.16")
    assert any(warning.startswith("repossession:") for warning in result.warnings)


# --- the method ---------------------------------------------------------------------------------


def test_a_missing_method_is_pro_rata_by_default():
    result = quote(method=None)
    assert (result.method, result.refund) == ("pro_rata", D("566.16"))
    assert "method missing: pro rata assumed (no state rule requires a method)" in result.warnings
    assert result.inputs["assumed_method"] == {"value": "pro_rata", "source": "default"}


def test_a_missing_method_takes_the_states_required_method():
    result = quote(method=None, state="CO", fee=D("0.00"))
    assert result.method == "pro_rata"
    assert any(w.startswith("method missing: pro rata used as CO requires") for w in result.warnings)


def test_the_states_required_method_overrides_the_contract():
    result = quote(method="rule_of_78", state="NJ")
    assert (result.method, result.refund) == ("pro_rata", D("566.16"))
    assert any("the contract says rule of 78 but NJ requires pro rata" in w for w in result.warnings)


def test_wisconsin_lifts_a_short_rate_refund_to_the_rule_of_78():
    # 2024-01-15 + 2 months = 03-15; 03-20 is 5 days in, under Wisconsin's 16, so 2 months are used; U = 58.
    # Short rate (no table): 0.90 x (1,827 - 65) / 1,827 = 0.8680 < rule of 78: 58 x 59 / (60 x 61)
    # = 3,422 / 3,660 = 0.934973. Gross 795.00 x 3,422 / 3,660 = 743.3032... -> 743.30; less $50.00 = 693.30.
    result = quote(method="short_rate", state="WI", cancellation_date=date(2024, 3, 20))
    assert (result.method, result.factor, result.refund) == ("rule_of_78", D("0.934973"), D("693.30"))
    assert any("below the rule of 78 minimum for WI" in w for w in result.warnings)
    assert result.inputs["partial_month_min_days"]["value"] == 16


# --- inputs and their sources ---------------------------------------------------------------------


def test_inputs_carry_their_sources_and_the_values_used():
    sources = {
        "premium": {"value": "795.00", "source": "extraction", "quote": "GAP waiver charge: $795.00"},
        "fee": {"value": "60.00", "source": "correction"},
        "start_date": {"source": "contract"},
    }
    result = quote(sources=sources)
    assert result.inputs["premium"] == {"value": "795.00", "source": "extraction", "quote": "GAP waiver charge: $795.00"}
    assert result.inputs["start_date"] == {"value": "2024-01-15", "source": "contract"}
    assert result.inputs["method"] == {"value": "pro_rata", "source": "caller"}
    assert result.inputs["fee"]["value"] == "50.00"
    assert "fee: its source gives 60.00 but 50.00 was used" in result.warnings
    assert result.inputs["free_look_days"] == {"value": 30, "source": "default", "setting": "REFUND_FREE_LOOK_DAYS"}
    with pytest.raises(TypeError):
        result.inputs["premium"]["value"] = "1.00"  # the quote is immutable


def test_a_quote_without_a_state_says_so():
    assert quote(state=None).warnings == ("state unknown: no state rule applied",)


def test_the_quote_serialises_for_the_api():
    data = json.loads(json.dumps(quote(state="NJ").as_dict()))
    assert data["refund"] == "566.16" and data["factor"] == "0.775041" and data["rules_version"] == RULES.version
    assert data["steps"][0] == {"text": "The coverage runs 1,827 days from 2024-01-15 to 2029-01-15 (60 months).",
                                "figure": "1,827 days"}


def test_an_empty_rule_book_knows_no_state():
    result = quote(state="NJ", rules=RuleBook(version="empty"), fee=D("75.00"))
    assert result.fee_applied == D("75.00") and result.rules_version == "empty"


# --- bad input ----------------------------------------------------------------------------------


def test_a_cancellation_before_the_start_is_bad_input():
    with pytest.raises(BadInput) as bad:
        quote(cancellation_date=date(2024, 1, 14))
    assert bad.value.field == "cancellation_date" and bad.value.status == 422
    assert "before the coverage started on 2024-01-15" in bad.value.message


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"premium": 795.0}, "premium"),
        ({"premium": D("0.00")}, "premium"),
        ({"premium": D("795.005")}, "premium"),
        ({"premium": D("250000.00")}, "premium"),
        ({"fee": D("-5.00")}, "fee"),
        ({"method": "straight_line"}, "method"),
        ({"term_months": 0}, "term_months"),
        ({"term_months": 60.0}, "term_months"),
        ({"reason": "bored"}, "reason"),
        ({"claim_paid": "no"}, "claim_paid"),
        ({"start_date": datetime(2024, 1, 15, 9, 0)}, "start_date"),
        ({"start_date": "2024-01-15"}, "start_date"),
        ({"apr": D("-1")}, "apr"),
        ({"method": "short_rate", "short_rate_table": [[12, "0.5"], [6, "0.4"]]}, "short_rate_table"),
        ({"method": "short_rate", "short_rate_table": [[12, "0.5"]]}, "short_rate_table"),  # stops before month 14
        ({"free_look_default_days": -1}, "free_look_default_days"),
    ],
)
def test_bad_inputs_are_refused_naming_the_field(overrides, field):
    with pytest.raises(BadInput) as bad:
        quote(**overrides)
    assert bad.value.field == field
