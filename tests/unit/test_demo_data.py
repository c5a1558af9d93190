"""Tests for the demo GAP contracts used for demos and extractor accuracy measurement."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from pipeline.seed.demo import demo_contracts

METHODS = {"pro_rata", "rule_of_78", "short_rate", "actuarial"}
CONTRACT_KEYS = {
    "account_number",
    "customer_name",
    "dealer",
    "lender",
    "vehicle",
    "contract_start_date",
    "term_months",
    "state",
    "document_text",
    "pdf_path",
    "expected",
}
EXPECTED_KEYS = {"gap_insurance_premium", "refund_calculation_method", "cancellation_fee"}
AMOUNT_RE = re.compile(r"^\d+\.\d{2}$")
VIN_RE = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
US_STATES = set(
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ "
    "NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC".split()
)
# How contracts in the set say there is no cancellation fee.
NO_FEE_RE = re.compile(
    r"\bno (cancellation )?(or administrative )?fee|without any fee|cancellation fee: \$0\.00"
)


def _flat(text: str) -> str:
    """Lower-case text with all whitespace runs (including OCR line breaks) as one space."""
    return " ".join(text.split()).lower()


def _amount_forms(amount: Decimal) -> list[str]:
    forms = [f"${amount:,.2f}", f"{amount:,.2f}", f"{amount:.2f}"]
    if amount == amount.to_integral_value():
        forms.append(f"${amount:,.0f}")
    return forms


def _amount_positions(text: str, amount: Decimal) -> list[int]:
    positions: list[int] = []
    for form in _amount_forms(amount):
        # A match must be a whole number: not "$50" inside "$50,000", not "95.00" inside "595.00".
        pattern = r"(?<![\d,.])" + re.escape(form) + r"(?!,?\d)(?!\.\d)"
        positions.extend(m.start() for m in re.finditer(pattern, text))
    return positions


def _mentions_amount(text: str, amount: Decimal, *, near: str | None = None) -> bool:
    """Whether ``amount`` is written in ``text``, optionally within 80 characters of ``near``."""
    positions = _amount_positions(text, amount)
    if near is None:
        return bool(positions)
    return any(near in text[max(0, pos - 80) : pos + 80] for pos in positions)


def test_twenty_contracts_with_distinct_ten_digit_accounts() -> None:
    contracts = demo_contracts()
    assert len(contracts) == 20
    numbers = [c["account_number"] for c in contracts]
    assert all(isinstance(n, str) and re.fullmatch(r"\d{10}", n) for n in numbers)
    assert len(set(numbers)) == 20
    assert "4350948342" in numbers


def test_contract_keys_and_types() -> None:
    for contract in demo_contracts():
        assert set(contract) == CONTRACT_KEYS, contract["account_number"]
        for key in ("customer_name", "dealer", "lender", "document_text"):
            assert isinstance(contract[key], str) and contract[key].strip()
        vehicle = contract["vehicle"]
        assert set(vehicle) == {"year", "make", "model", "vin"}
        assert isinstance(vehicle["year"], int) and 2015 <= vehicle["year"] <= 2026
        assert isinstance(vehicle["make"], str) and vehicle["make"]
        assert isinstance(vehicle["model"], str) and vehicle["model"]
        assert VIN_RE.fullmatch(vehicle["vin"]), vehicle["vin"]
        start = date.fromisoformat(contract["contract_start_date"])
        assert date(2021, 1, 1) <= start <= date(2025, 12, 31)
        assert isinstance(contract["term_months"], int) and 36 <= contract["term_months"] <= 84
        assert contract["state"] in US_STATES
        assert contract["pdf_path"] == f"GAP-{contract['account_number']}.pdf"
        assert set(contract["expected"]) == EXPECTED_KEYS


def test_vins_are_distinct_and_have_valid_check_digits() -> None:
    values = {**{str(d): d for d in range(10)}}
    values.update(zip("ABCDEFGH", range(1, 9)))
    values.update(zip("JKLMN", range(1, 6)))
    values.update({"P": 7, "R": 9})
    values.update(zip("STUVWXYZ", range(2, 10)))
    weights = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
    vins = [c["vehicle"]["vin"] for c in demo_contracts()]
    assert len(set(vins)) == len(vins)
    for vin in vins:
        remainder = sum(values[ch] * w for ch, w in zip(vin, weights)) % 11
        assert vin[8] == ("X" if remainder == 10 else str(remainder)), vin


def test_document_text_length_and_vehicle_mentioned() -> None:
    for contract in demo_contracts():
        text = contract["document_text"]
        assert 1500 <= len(text) <= 4000, (contract["account_number"], len(text))
        flat = _flat(text)
        assert contract["account_number"] in flat
        assert contract["vehicle"]["vin"].lower() in flat
        assert contract["customer_name"].lower() in flat


def test_expected_values_are_canonical() -> None:
    for contract in demo_contracts():
        expected = contract["expected"]
        premium = expected["gap_insurance_premium"]
        assert isinstance(premium, str) and AMOUNT_RE.fullmatch(premium), premium
        assert Decimal("395.00") <= Decimal(premium) <= Decimal("1295.00")
        assert expected["refund_calculation_method"] in METHODS
        fee = expected["cancellation_fee"]
        assert fee is None or (isinstance(fee, str) and AMOUNT_RE.fullmatch(fee)), fee


def test_expected_premium_is_written_in_the_text() -> None:
    for contract in demo_contracts():
        premium = Decimal(contract["expected"]["gap_insurance_premium"])
        assert _mentions_amount(contract["document_text"], premium), contract["account_number"]


def test_expected_fee_matches_what_the_text_says() -> None:
    for contract in demo_contracts():
        flat = _flat(contract["document_text"])
        fee = contract["expected"]["cancellation_fee"]
        account = contract["account_number"]
        if fee is None:
            # Silent contracts: no cancellation fee of any kind is mentioned. A premium
            # called "debt cancellation fee" would be ambiguous here, so it is excluded too.
            assert "cancellation fee" not in flat, account
            assert "fee to cancel" not in flat and "without any fee" not in flat, account
            assert "processing fee" not in flat, account
        elif Decimal(fee) == 0:
            assert NO_FEE_RE.search(flat), account
        else:
            assert _mentions_amount(flat, Decimal(fee), near="fee"), account


def test_mix_of_methods_and_fee_kinds() -> None:
    contracts = demo_contracts()
    methods = {c["expected"]["refund_calculation_method"] for c in contracts}
    assert methods == METHODS
    fees = [c["expected"]["cancellation_fee"] for c in contracts]
    assert fees.count(None) >= 1
    assert fees.count("0.00") >= 1
    assert sum(1 for f in fees if f not in (None, "0.00")) >= 1


def test_refund_method_is_worded_recognisably() -> None:
    # Loose per-method cues: each contract names its own method in some form.
    cues = {
        "pro_rata": re.compile(r"pro[ -]rata"),
        "rule_of_78": re.compile(r"rule of 78|sum[- ]of[- ]the[- ](months.[- ])?digits"),
        "short_rate": re.compile(r"short[ -]rate"),
        "actuarial": re.compile(r"actuarial"),
    }
    for contract in demo_contracts():
        method = contract["expected"]["refund_calculation_method"]
        assert cues[method].search(_flat(contract["document_text"])), contract["account_number"]


def test_demo_contracts_is_deterministic_and_returns_fresh_objects() -> None:
    first, second = demo_contracts(), demo_contracts()
    assert first == second
    first[0]["expected"]["cancellation_fee"] = "999.00"
    first[0]["vehicle"]["year"] = 1990
    assert demo_contracts() == second
