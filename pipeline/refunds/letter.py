"""The quote letter: one page an agent can send the customer, rendered with fpdf2.

It names the contract and the customer, the dates, the refund, each step of the computation in
words and figures, and the contract's own refund clause, quoted. Only the core Helvetica font is
used (text stays extractable, nothing to ship), so text is mapped to Latin-1 first
(:func:`pipeline.pdf_render.core_font_text`). The same quote always gives the same bytes: the
document's date is the quote's.
"""

from __future__ import annotations

from datetime import timezone
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from models import Contract, RefundQuote
from pipeline.core.pdf_render import core_font_text
from pipeline.refunds.formulas import METHOD_NAMES, REASONS

CLAUSE_MAX_CHARS = 700
STEPS_SHOWN = 14


def filename(quote: RefundQuote, contract: Contract) -> str:
    return f"refund-quote-{contract.account_number}-{quote.cancellation_date.isoformat()}.pdf"


def _dollars(amount: Any) -> str:
    return f"${amount:,.2f}"


def _vehicle(vehicle: Any) -> str | None:
    if not vehicle:
        return None
    if not isinstance(vehicle, dict):
        return str(vehicle)
    words = " ".join(str(vehicle[k]) for k in ("year", "make", "model", "description") if vehicle.get(k))
    return f"{words} (VIN {vehicle['vin']})" if vehicle.get("vin") else words or None


class _Letter(FPDF):
    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("Helvetica", style="I", size=7)
        self.set_text_color(110)
        self.cell(0, 5, self._footer_text, align="C")

    _footer_text = ""


def render(quote: RefundQuote, contract: Contract) -> bytes:
    """The letter for a stored quote, as PDF bytes (one Letter-size page)."""
    pdf = _Letter(orientation="portrait", unit="mm", format="Letter")
    created = quote.created_at if quote.created_at.tzinfo else quote.created_at.replace(tzinfo=timezone.utc)
    pdf.set_creation_date(created)
    pdf.set_title(core_font_text(f"GAP refund quote {contract.account_number}"))
    pdf.set_margins(left=18, top=16, right=18)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf._footer_text = core_font_text(
        f"Quote {quote.id} - made {created.date().isoformat()} - state rules {quote.rules_version}, "
        f"formulas {quote.formulas_version}"
    )
    pdf.add_page()

    def line(text: str, *, size: float = 9.5, style: str = "", height: float = 4.6) -> None:
        pdf.set_font("Helvetica", style=style, size=size)
        pdf.multi_cell(0, height, core_font_text(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def fact(label: str, value: str | None) -> None:
        if not value:
            return
        pdf.set_font("Helvetica", style="B", size=9.5)
        pdf.cell(44, 4.8, core_font_text(label))
        pdf.set_font("Helvetica", size=9.5)
        pdf.multi_cell(0, 4.8, core_font_text(value), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def heading(text: str) -> None:
        pdf.ln(2.5)
        line(text, size=11, style="B", height=6)

    if contract.lender:
        line(contract.lender, size=9, style="B")
    line("GAP refund quote", size=16, style="B", height=9)
    line(f"For {contract.customer_name or 'the customer'}, account {contract.account_number}", size=10)
    pdf.ln(1.5)

    heading("The contract")
    fact("Customer", contract.customer_name)
    fact("Account number", contract.account_number)
    fact("Vehicle", _vehicle(contract.vehicle))
    fact("Dealer", contract.dealer)
    if contract.contract_start_date and contract.term_months:
        fact("Coverage", f"{contract.term_months} months from {contract.contract_start_date.isoformat()}")
    fact("State", contract.state)

    heading("The cancellation")
    fact("Cancellation date", quote.cancellation_date.isoformat())
    fact("Reason", REASONS.get(quote.reason, quote.reason).capitalize())
    fact("Claim paid", "Yes" if quote.claim_paid else "No")

    heading("The refund")
    line(_dollars(quote.refund), size=20, style="B", height=10)
    line(quote.reason_text, size=10)
    figures = f"Unearned charge {_dollars(quote.gross_refund)}, less cancellation fee {_dollars(quote.fee_applied)}"
    if quote.method:
        figures += f"; method: {METHOD_NAMES.get(quote.method, quote.method)}, unearned share {quote.factor:.6f}"
    line(figures + ".", size=9)

    steps = (quote.result or {}).get("steps", [])
    heading("How it was worked out")
    for number, step in enumerate(steps[:STEPS_SHOWN], start=1):
        text = f"{number}. {step['text']}"
        line(text, size=9, height=4.3)
    if len(steps) > STEPS_SHOWN:
        line(f"({len(steps) - STEPS_SHOWN} more steps in the quote on file)", size=8, style="I")

    clause = (quote.result or {}).get("clause")
    heading("What your contract says")
    if clause and clause.get("quote"):
        text = " ".join(clause["quote"].split())
        if len(text) > CLAUSE_MAX_CHARS:
            text = text[:CLAUSE_MAX_CHARS].rsplit(" ", 1)[0] + " ..."
        line(f'"{text}"', size=9, style="I", height=4.3)
    else:
        line("The contract's refund clause is not on file; the method above is the one the quote used.", size=9, style="I")

    warnings = (quote.result or {}).get("warnings", [])
    if warnings:
        heading("Notes")
        for warning in warnings[:6]:
            line(f"- {warning[:1].upper()}{warning[1:]}.", size=8, height=3.8)

    pdf.ln(2)
    line(
        "This quote is worked out from the contract terms on file and the state rules named below. The refund is "
        "confirmed when the cancellation is processed.",
        size=8, style="I", height=3.8,
    )
    return bytes(pdf.output())
