"""Demo GAP contracts for local development, demos and extractor evaluation.

``demo_contracts()`` returns 20 GAP (Guaranteed Asset Protection) contracts,
each with the full contract text an extractor would see and the ``expected``
values (premium, refund calculation method, cancellation fee) that a correct
extraction must return. The texts deliberately vary how each fact is worded and
surround it with other dollar amounts (amount financed, monthly payment,
deductible cap, maximum benefit, MSRP, ...), so accuracy measured on this set
says something about real documents.

Customers, dealers, lenders, administrators and the insurer are invented for
the demo; the state regulators named in the notices are real agencies. Each
contract is assembled from small pieces (deal data, clause variants and one of
four form layouts). Nothing is random: every call returns equal, freshly built
objects, so callers may mutate what they get.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pipeline.seed.clauses import CREDIT_REGULATORS, FEE_CLAUSES, INSURANCE_REGULATORS, METHOD_CLAUSES, NOTICES, PREMIUM_CLAUSES, STATE_NAMES
from pipeline.seed.deals import CONTRACTS, Deal, Terms
from pipeline.seed.layouts import FORMS, FREE_LOOK_DAYS, MONTHS, Doc, cap_first, dollars_in_words, lower_first, money, monthly_payment, number_words, ocr, vin
from pipeline.vocabulary import REFUND_METHODS

__all__ = ["REFUND_METHODS", "demo_contracts"]




def _premium_amount_text(terms: Terms) -> str:
    amount = Decimal(terms.premium)
    if terms.premium_style == "words":
        return dollars_in_words(amount, cents=True)
    return money(amount, cents=terms.premium_style == "cents")


def _fee_sentence(terms: Terms, doc_name: str) -> str:
    template = FEE_CLAUSES[terms.fee_style][terms.fee_variant]
    if terms.fee is None or terms.fee_style in ("none", "silent"):
        return template.format(doc=doc_name)
    fee = Decimal(terms.fee)
    return template.format(
        fee=money(fee, cents=terms.fee_cents),
        fee_words=number_words(int(fee)) + " dollars",
        doc=doc_name,
    )


def _document_text(index: int, deal: Deal, terms: Terms) -> str:
    layout, doc_name = FORMS[terms.form]
    start = date.fromisoformat(deal.start)
    cash_price, down_payment = Decimal(deal.cash_price), Decimal(deal.down_payment)
    # The premium is financed, so it is part of the Amount Financed, as on real contracts.
    amount_financed = cash_price - down_payment + Decimal(terms.premium)
    payment = monthly_payment(amount_financed, Decimal(deal.apr), deal.term_months)
    label = terms.premium_label

    premium_clause = PREMIUM_CLAUSES[terms.premium_variant].format(
        label=label, Label=cap_first(label), amount=_premium_amount_text(terms)
    )
    method_sentence = METHOD_CLAUSES[terms.method][terms.method_variant].format(label=label)
    fee_sentence = _fee_sentence(terms, doc_name)
    refund_clause = f"Otherwise, {lower_first(method_sentence)} {fee_sentence}".rstrip()

    state_name = STATE_NAMES[deal.state]
    insured = terms.form == "insurance_certificate"
    regulators = INSURANCE_REGULATORS if insured else CREDIT_REGULATORS
    notice = NOTICES[index % len(NOTICES)].format(
        doc=doc_name, regulator=regulators[deal.state], state_name=state_name
    )

    doc = Doc(
        deal=deal,
        index=index,
        vin=vin(deal.vin_stem, deal.year, deal.vin_tail),
        start_us=start.strftime("%m/%d/%Y"),
        start_long=f"{MONTHS[start.month - 1]} {start.day}, {start.year}",
        cash_price=money(cash_price),
        down_payment=money(down_payment),
        amount_financed=money(amount_financed),
        payment=money(payment),
        msrp=money(Decimal(deal.msrp), cents=False),
        deductible_cap=money(Decimal(terms.deductible_cap), cents=False),
        max_benefit=money(Decimal(terms.max_benefit), cents=False),
        label=label,
        premium_clause=premium_clause,
        refund_clause=refund_clause,
        free_look_days=FREE_LOOK_DAYS.get(deal.state, 30),
        state_name=state_name,
        notice=notice,
    )
    text = layout(doc)
    if terms.ocr == "upper":
        return ocr(text, width=64, upper=True)
    if terms.ocr == "wrap":
        return ocr(text, width=47, upper=False)
    return text


def _build_contract(index: int, deal: Deal, terms: Terms) -> dict[str, Any]:
    return {
        "account_number": deal.account_number,
        "customer_name": deal.customer_name,
        "dealer": deal.dealer,
        "lender": deal.lender,
        "vehicle": {
            "year": deal.year,
            "make": deal.make,
            "model": deal.model,
            "vin": vin(deal.vin_stem, deal.year, deal.vin_tail),
        },
        "contract_start_date": deal.start,
        "term_months": deal.term_months,
        "state": deal.state,
        "document_text": _document_text(index, deal, terms),
        "pdf_path": f"GAP-{deal.account_number}.pdf",
        "expected": {
            "gap_insurance_premium": terms.premium,
            "refund_calculation_method": terms.method,
            "cancellation_fee": terms.fee,
        },
    }


def demo_contracts() -> list[dict[str, Any]]:
    """Return the 20 demo GAP contracts, freshly built and identical on every call.

    Each dict has: account_number, customer_name, dealer, lender, vehicle
    (year, make, model, vin), contract_start_date (ISO), term_months, state,
    document_text, pdf_path ("GAP-<account_number>.pdf") and expected
    (gap_insurance_premium, refund_calculation_method, cancellation_fee) -- the
    values a correct extraction of document_text returns.
    """
    return [_build_contract(index, deal, terms) for index, (deal, terms) in enumerate(CONTRACTS)]
