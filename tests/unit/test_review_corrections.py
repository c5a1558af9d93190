"""Checking a reviewer's corrections before anything is written."""

import pytest

from pipeline.core.errors import ValidationFailed
from pipeline.extraction.review import FieldCorrection, parse_corrections


def test_values_become_canonical():
    checked = parse_corrections([
        {"field_name": "gap_insurance_premium", "corrected_value": "$1,095", "correction_reason": " section 2 "},
        {"field_name": "refund_calculation_method", "corrected_value": "Rule of 78s"},
        {"field_name": "cancellation_fee", "corrected_value": 0},
    ])
    assert checked == [
        FieldCorrection("gap_insurance_premium", "1095.00", "section 2"),
        FieldCorrection("refund_calculation_method", "rule_of_78", None),
        FieldCorrection("cancellation_fee", "0.00", None),
    ]


def test_no_corrections_is_a_plain_approval():
    assert parse_corrections([]) == []


def test_every_problem_is_reported_with_its_field_and_position():
    with pytest.raises(ValidationFailed) as caught:
        parse_corrections([
            {"field_name": "cancellation_fee", "corrected_value": "-5"},
            {"field_name": "premium", "corrected_value": "5"},
            {"field_name": "refund_calculation_method", "corrected_value": "monthly"},
            {"field_name": "cancellation_fee", "corrected_value": "5"},
        ])
    error = caught.value
    assert error.status == 422
    per_item = error.details["json"]["corrections"]
    assert set(per_item) == {"0", "1", "2", "3"}
    assert "negative" in per_item["0"]["corrected_value"][0]
    assert "unknown field 'premium'" in per_item["1"]["field_name"][0]
    assert "more than once" in per_item["3"]["field_name"][0]
    assert set(error.details["fields"]) == {"cancellation_fee", "premium", "refund_calculation_method"}
    for name in ("cancellation_fee", "premium", "refund_calculation_method"):
        assert name in error.message


@pytest.mark.parametrize("value", [None, True, [], {"amount": 5}, "", "  "])
def test_values_that_are_no_amount_are_refused(value):
    with pytest.raises(ValidationFailed, match="gap_insurance_premium"):
        parse_corrections([{"field_name": "gap_insurance_premium", "corrected_value": value}])


def test_a_method_must_be_text():
    with pytest.raises(ValidationFailed, match="refund_calculation_method must be one of"):
        parse_corrections([{"field_name": "refund_calculation_method", "corrected_value": 78}])
