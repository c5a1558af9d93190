"""Tests for rendering plain-text contracts to PDF."""

from __future__ import annotations

import io
import re
from decimal import Decimal

from pypdf import PdfReader

from pipeline.seed.demo import demo_contracts
from pipeline.core.pdf_render import render_text_pdf


def _contract(account_number: str) -> dict:
    return next(c for c in demo_contracts() if c["account_number"] == account_number)


def _extract(pdf_bytes: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(pdf_bytes))
    text = "\n".join(page.extract_text() for page in reader.pages)
    # Line wrapping is the renderer's choice; compare with whitespace collapsed.
    return len(reader.pages), " ".join(text.split())


def test_pdf_starts_with_header_and_is_deterministic() -> None:
    contract = _contract("4350948342")
    first = render_text_pdf(contract["document_text"], title="GAP Contract 4350948342")
    second = render_text_pdf(contract["document_text"], title="GAP Contract 4350948342")
    assert first.startswith(b"%PDF-")
    assert first.rstrip().endswith(b"%%EOF")
    assert first == second


def test_different_input_gives_different_pdf() -> None:
    contract = _contract("4350948342")
    base = render_text_pdf(contract["document_text"], title="GAP Contract")
    assert render_text_pdf(contract["document_text"], title="Other title") != base
    assert render_text_pdf(contract["document_text"] + "\nExtra.", title="GAP Contract") != base


def test_contract_words_survive_text_extraction() -> None:
    contract = _contract("4350948342")
    pages, text = _extract(render_text_pdf(contract["document_text"], title="GAP Contract"))
    assert pages >= 1
    for words in (
        "GAP Contract",
        "GAP WAIVER ADDENDUM",
        "4350948342",
        contract["customer_name"],
        contract["vehicle"]["vin"],
        "$795.00",
        "pro rata",
        "A cancellation fee of $50.00",
        "Page 1 of",
    ):
        assert words in text, words


def test_every_demo_contract_renders_with_premium_and_method_words() -> None:
    method_cues = {
        "pro_rata": re.compile(r"pro[ -]rata"),
        "rule_of_78": re.compile(r"rule of 78|sum[- ]of[- ]the"),
        "short_rate": re.compile(r"short[ -]rate"),
        "actuarial": re.compile(r"actuarial"),
    }
    for contract in demo_contracts():
        _, text = _extract(render_text_pdf(contract["document_text"], title=contract["pdf_path"]))
        account = contract["account_number"]
        dollars = int(Decimal(contract["expected"]["gap_insurance_premium"]))
        # "$1,095" also covers "$1,095.00"; contracts write the premium either way.
        assert f"${dollars:,}" in text, account
        method = contract["expected"]["refund_calculation_method"]
        assert method_cues[method].search(text.lower()), account
        assert account in text


def test_typographic_characters_are_replaced_not_fatal() -> None:
    text = (
        "The \u201cGAP charge\u201d \u2014 $795.00 \u2013 isn\u2019t refundable\u2026 "
        "\u2022 Fee\u00a0\u20ac50 \u2122 \u0142\n\tIndented line\r\nWindows line"
    )
    pages, extracted = _extract(render_text_pdf(text, title="Quotes \u201ctest\u201d"))
    assert pages == 1
    assert '"GAP charge" - $795.00 - isn\'t refundable...' in extracted
    assert "EUR50" in extracted and "(TM)" in extracted
    assert 'Quotes "test"' in extracted
    assert "Indented line" in extracted and "Windows line" in extracted


def test_long_text_gets_numbered_pages() -> None:
    text = "\n".join(f"Clause {n}: the refund is calculated pro rata." for n in range(1, 201))
    pdf_bytes = render_text_pdf(text, title="Long contract")
    reader = PdfReader(io.BytesIO(pdf_bytes))
    assert len(reader.pages) > 1
    last = reader.pages[-1].extract_text()
    assert f"Page {len(reader.pages)} of {len(reader.pages)}" in last
    assert "Clause 200:" in last


def test_empty_text_still_renders_title() -> None:
    pages, text = _extract(render_text_pdf("", title="Empty contract"))
    assert pages == 1
    assert "Empty contract" in text
