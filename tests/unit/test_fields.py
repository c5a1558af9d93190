from decimal import Decimal

import pytest

from pipeline.text.fields import canonical, canonical_method, canonical_money


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("$1,095", "1095.00"), ("795", "795.00"), ("795.5", "795.50"), ("$ 795.00", "795.00"), ("USD 650", "650.00"),
     ("650 dollars", "650.00"), (795, "795.00"), (Decimal("49.999"), "50.00"), ("0", "0.00")],
)
def test_money_becomes_two_decimals(raw, expected):
    assert canonical_money(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("", "empty"), ("-50", "negative"), ("($50)", "negative"), ("fifty", "amount like"), (None, "amount like"),
     (True, "amount like"), ("1e9", "amount like"), (250000, "beyond"), ("12.345", "amount like")],
)
def test_bad_money_is_refused_with_a_reason(raw, reason):
    with pytest.raises(ValueError, match=reason):
        canonical_money(raw)


def test_no_fee_words_mean_zero_for_the_fee_only():
    assert canonical("cancellation_fee", "No fee") == "0.00"
    with pytest.raises(ValueError):
        canonical("gap_insurance_premium", "none")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("Rule of 78s", "rule_of_78"), ("pro-rata", "pro_rata"), ("Pro Rata", "pro_rata"), ("pro_rata", "pro_rata"),
     ("Short Rate", "short_rate"), ("short-rate method", "short_rate"), ("Actuarial Method", "actuarial"),
     ("sum of the digits", "rule_of_78"), ("RULE_OF_78", "rule_of_78")],
)
def test_methods_are_recognised(raw, expected):
    assert canonical_method(raw) == expected


@pytest.mark.parametrize("raw", ["", "whatever", "declining balance", 78])
def test_unknown_methods_are_refused(raw):
    with pytest.raises(ValueError):
        canonical_method(raw)


def test_unknown_field():
    with pytest.raises(ValueError, match="unknown field"):
        canonical("apr", "5")
