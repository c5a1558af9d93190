"""Refund questions in chat: which ones ask for a quote, and the date, reason and claim read from them;
and the lists of reasons that several layers keep in step."""

import pytest

from models.refund_quote import QUOTE_REASON_CODES, REFUND_REASONS
from pipeline.providers.prompts.chat import QUOTE_TOOL_SCHEMA
from pipeline.providers.local.answerer import quote_arguments
from pipeline.refunds.formulas import REASON_CODES, REASONS


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("how much would they get back if they cancel today?", {"reason": "customer_request", "claim_paid": False}),
        ("What refund would she get if she paid off the loan on November 20, 2026?",
         {"reason": "payoff", "claim_paid": False, "cancellation_date": "2026-11-20"}),
        ("they traded it in on 3/1/2025, how much do they get back", {"reason": "trade_in", "claim_paid": False, "cancellation_date": "2025-03-01"}),
        ("started 2023-01-01; what is owed if it was repossessed on 2026-01-02?",
         {"reason": "repossession", "claim_paid": False, "cancellation_date": "2026-01-02"}),
        ("The car was totaled and the claim was paid. Any refund if cancelled today?", {"reason": "total_loss", "claim_paid": True}),
        ("Refund on a refinance as of 2 March 2026?", {"reason": "refinance", "claim_paid": False, "cancellation_date": "2026-03-02"}),
        ("The sale was unwound, how much money back?", {"reason": "unwind", "claim_paid": False}),
        # A day that does not exist is passed on as written, for the quote to refuse, never replaced by today.
        ("how much back on a payoff on 2026-02-30?", {"reason": "payoff", "claim_paid": False, "cancellation_date": "2026-02-30"}),
    ],
)
def test_questions_that_ask_for_a_quote(question, expected):
    assert quote_arguments(question) == expected


@pytest.mark.parametrize(
    "question",
    [
        "How is the refund calculated?",
        "How is a refund calculated on cancellation?",
        "How would a refund be computed if they pay off early?",
        "Is the fee refundable?",
        "What about refunds?",
        "How much is the cancellation fee?",
        "And what does cancelling cost?",
        "What is the GAP premium?",
        "The customer says the premium was $1,095.00 on 2023-04-15. Is the fee refundable?",
    ],
)
def test_questions_that_do_not(question):
    assert quote_arguments(question) is None


def test_the_reasons_are_the_same_everywhere():
    assert tuple(REASONS) == REFUND_REASONS
    assert tuple(REASON_CODES) == QUOTE_REASON_CODES
    assert QUOTE_TOOL_SCHEMA["properties"]["reason"]["enum"] == list(REASONS)
