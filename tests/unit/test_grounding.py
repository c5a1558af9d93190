import pytest

from pipeline.extraction.grounding import _amount_in, badge, check_all, check_field, locate
from pipeline.providers.base import FieldValue

TEXT = (
    "GAP WAIVER ADDENDUM\nThe GAP charge for this Waiver is $1,095.00, payable with the\n"
    "Retail Installment Contract. If you cancel, the refund is calculated pro rata.\n"
    "A cancellation fee of $50.00 will be deducted. Amount financed: $24,500.00."
)


def test_exact_and_loose_quotes_are_located():
    start, end = locate("GAP charge for this Waiver is $1,095.00", TEXT)
    assert TEXT[start:end] == "GAP charge for this Waiver is $1,095.00"
    # Case, line breaks and curly quotes differ; the offsets point at the original text.
    start, end = locate("payable with the retail   installment contract", TEXT)
    assert TEXT[start:end] == "payable with the\nRetail Installment Contract"
    assert locate("a refund of $9,999", TEXT) is None
    assert locate("", TEXT) is None


def test_a_grounded_answer_keeps_its_confidence_and_gets_offsets():
    fields = check_all(
        {
            "gap_insurance_premium": FieldValue("$1,095", 0.93, "The GAP charge for this Waiver is $1,095.00"),
            "refund_calculation_method": FieldValue("pro rata", 0.9, "the refund is calculated pro rata"),
            "cancellation_fee": FieldValue("50", 0.88, "A cancellation fee of $50.00 will be deducted."),
        },
        TEXT,
    )
    premium = fields["gap_insurance_premium"]
    assert (premium.value, premium.confidence, premium.flags) == ("1095.00", 0.93, [])
    assert TEXT[premium.start:premium.end] == premium.quote
    assert fields["refund_calculation_method"].value == "pro_rata"
    assert fields["cancellation_fee"].value == "50.00"


def test_an_invented_quote_is_flagged_and_capped():
    checked = check_field("gap_insurance_premium", FieldValue("795.00", 0.99, "The GAP premium is $795.00"), TEXT)
    assert checked.value == "795.00" and checked.confidence == 0.3
    assert checked.flags == ["quote_not_in_document"] and checked.start is None


def test_a_quote_that_does_not_state_the_amount_is_capped():
    checked = check_field("gap_insurance_premium", FieldValue("24500", 0.95, "The GAP charge for this Waiver is $1,095.00"), TEXT)
    assert checked.flags == ["amount_not_in_quote"] and checked.confidence == 0.5


def test_invalid_values_and_silence():
    bad = check_field("refund_calculation_method", FieldValue("declining", 0.9, "pro rata"), TEXT)
    assert bad.value is None and bad.confidence == 0.0 and bad.flags[0].startswith("invalid_value")
    silent = check_field("cancellation_fee", FieldValue(None, 0.95, None), TEXT)
    assert silent.value is None and silent.confidence == 0.3 and silent.flags == ["not_stated"]
    assert check_field("cancellation_fee", None, TEXT).confidence == 0.0
    weird = check_field("cancellation_fee", FieldValue("50", "very sure", "A cancellation fee of $50.00"), TEXT)
    assert weird.confidence == 0.0 and weird.value == "50.00"


def test_badges():
    assert [badge(c, high=0.85, medium=0.6) for c in (0.9, 0.85, 0.7, 0.59, None)] == ["high", "high", "medium", "low", "low"]


def test_amounts_written_in_words_support_the_value():
    text = "If you cancel, we keep a cancellation fee of seventy-five dollars from any refund."
    checked = check_field("cancellation_fee", FieldValue("75.00", 0.9, text), text)
    assert checked.flags == [] and checked.confidence == 0.9


@pytest.mark.parametrize(
    ("quote", "value", "stated"),
    [
        ("The GAP charge is $1,095.", "1095.00", True),
        ("The GAP charge is 1095.00 dollars.", "1095.00", True),
        ("charge: $1,095.00 (included)", "1095.00", True),
        ("charge 1095", "1095.00", True),
        ("a fee of $1,095.50 applies", "1095.50", True),
        ("a fee of $1,095.5 applies", "1095.50", False),
        ("a fee of $1,095 applies", "1095.50", False),
        ("a charge of $10,950", "1095.00", False),
        ("a charge of $21095", "1095.00", False),
        ("version 1.1095.00", "1095.00", False),
        ("a cancellation fee of fifty dollars", "50.00", True),
        ("a cancellation fee of sixty dollars", "50.00", False),
        ("no fee of 0 dollars", "0.00", True),
    ],
)
def test_an_amount_is_found_in_its_quote_however_it_is_written(quote, value, stated):
    assert _amount_in(quote, value) is stated
