"""The offline chat answerer behind the `local` provider: retrieval and rules, no model.

It answers the questions agents ask most from what is known for sure, and quotes the passage
each answer comes from:

1. how much a cancellation would refund ("how much would they get back if they cancel today?",
   "refund on payoff on 2026-11-20"): it reads the date, the reason and a paid claim from the
   question and calls the refund quote tool the request offers, then states the figure, the
   quote's id and the contract's refund clause;
2. the refund terms (premium, refund method, cancellation fee): from the extraction (approved
   values first, as the pipeline hands them over), else read from the text with the local rules;
3. contract details (customer, vehicle, dealer, lender, term, start date, state): from the
   contract's record, quoting the sentence of the document that names them when there is one;
4. anything else: the sentences of the document most relevant to the question (retrieval);
5. when no sentence is about the question, it says plainly that the contract does not answer it.

Deterministic and quick, so it is also the last fallback when remote providers fail.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from pipeline.providers.base import ChatRequest
from pipeline.providers.prompts.chat import QUOTE_TOOL_NAME
from pipeline.providers.local.extractor import extract_fields
from pipeline.text.passages import rank, sentences

# Share of the question's weight a sentence must contain to count as answering it.
MIN_COVERAGE = 0.5
NOT_ANSWERED = "The contract does not answer this question: no passage of it is about that."

_CANCEL_FEE = re.compile(
    r"cancel\w*\s+(?:fee|charge|penalt)|(?:fee|charge|penalt\w*)\s+(?:to|for|on|when|if)\s+(?:\w+\s+){0,3}cancel"
    r"|\bfees?\b|\bpenalt",
    re.IGNORECASE,
)
_GAP_FEE = re.compile(r"\bgap\s+fee|debt[\s-]cancellation\s+fee", re.IGNORECASE)
_PREMIUM = re.compile(
    r"premium|\bcost|\bprice|how much\b.*\b(?:gap|coverage|waiver|addendum|product)\b|gap\s+(?:charge|amount|fee)"
    r"|charge\s+for\s+(?:the\s+)?gap|paid\s+for|\bpay\s+for",
    re.IGNORECASE,
)
_METHOD = re.compile(
    r"calculat|comput|method|pro[\s-]?rat|rule\s+of\s+78|short[\s-]?rate|actuarial|unearned"
    r"|how (?:is|are|would|will|do|does) (?:\w+\s+){0,3}refund|what(?:'s| is| would be| will be) (?:the |a |any )?refund"
    r"|how much .*(?:get back|refund|money back)",
    re.IGNORECASE,
)
_SUMMARY = re.compile(r"summar|overview|tell me about (?:this|the) (?:contract|customer|account)|what is this contract", re.IGNORECASE)
_DETAILS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("vehicle", "The vehicle is {}.", re.compile(r"\b(?:what|which)\s+(?:vehicle|car|truck)|\bvin\b|make and model|vehicle identification", re.IGNORECASE)),
    ("customer_name", "The customer is {}.", re.compile(r"customer'?s? name|who is the (?:customer|buyer|borrower)|\bbuyer\b|borrower", re.IGNORECASE)),
    ("dealer", "The dealer is {}.", re.compile(r"dealer|seller|dealership", re.IGNORECASE)),
    ("lender", "The lender is {}.", re.compile(r"lender|assignee|creditor|\bbank\b|credit union|financed (?:by|through)", re.IGNORECASE)),
    ("term_months", "The term is {} months.", re.compile(r"\bterm\b|how long|how many months|length of", re.IGNORECASE)),
    ("contract_start_date", "The contract started on {}.", re.compile(r"start date|when did .*start|signed|effective date|contract date", re.IGNORECASE)),
    ("state", "The contract is governed by the law of {}.", re.compile(r"\bstate\b|governing law|jurisdiction", re.IGNORECASE)),
)
_METHOD_NAMES = {
    "pro_rata": "on a pro rata basis", "rule_of_78": "by the Rule of 78", "short_rate": "on a short-rate basis", "actuarial": "by the actuarial method",
}


def answer(request: ChatRequest) -> tuple[str, tuple[str, ...], bool]:
    """(answer text, quotes from the document, whether the contract answers the question)."""
    question = request.question
    text = request.document_text
    tool = request.tool(QUOTE_TOOL_NAME)
    if tool is not None:
        arguments = quote_arguments(question)
        if arguments is not None:
            return _quote_answer(tool.run(arguments))
    if _SUMMARY.search(question):
        return _summary(request)
    asked = _fields_asked(question)
    if asked:
        return _fields_answer(asked, request)
    details = [(key, template) for key, template, pattern in _DETAILS if pattern.search(question) and request.contract.get(key)]
    if details:
        return _details_answer(details, request)
    best = [s for s in rank(question, sentences(text)) if s.coverage >= MIN_COVERAGE][:2] if text else []
    if not best:
        return NOT_ANSWERED, (), False
    quotes = [best[0].passage.text]
    reply = f'The contract says: "{quotes[0]}"'
    if len(best) > 1 and best[1].score >= 0.6 * best[0].score:
        quotes.append(best[1].passage.text)
        reply += f' It also says: "{quotes[1]}"'
    return reply, tuple(quotes), True


# --- refund quotes --------------------------------------------------------------------------------

_REFUND_ASKED = re.compile(
    r"get (?:back|refunded)|money back|\brefund(?!able)|\bowed\b|\breceive\b|\breturned to\b"
    r"|how much (?:\w+\s+){0,5}(?:get|receive|back|return|refund)",
    re.IGNORECASE,
)
_ENDING = re.compile(
    r"cancel|pay(?:s|ing)?[\s-]?off|paid[\s-]?off|trade|trading|\bsold\b|\bsell|refinanc|\brefi\b|repo(?:ssess\w*|'d|ed)?\b"
    r"|total(?:led|ed| loss)|unwind|unwound|\btoday\b|\btomorrow\b|\bon\s+\d|\bon\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)",
    re.IGNORECASE,
)
_HOW_COMPUTED = re.compile(r"how (?:is|are|would|will|do|does) (?:\w+\s+){0,3}(?:calculat|comput|work|determin|figured)", re.IGNORECASE)
_REASON_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("unwind", re.compile(r"unwind|unwound|never funded", re.IGNORECASE)),
    ("repossession", re.compile(r"\brepo(?:ssess\w*|'d|ed|s)?\b", re.IGNORECASE)),
    ("total_loss", re.compile(r"total(?:led|ed| loss)|written off", re.IGNORECASE)),
    ("refinance", re.compile(r"refinanc|\brefi\b", re.IGNORECASE)),
    ("trade_in", re.compile(r"trade[\s-]?in|\btrad(?:e|es|ed|ing)(?:\s+\w+){0,3}\s+in\b|\btraded\b|\bsold\b|\bsell(?:s|ing)?\b", re.IGNORECASE)),
    ("payoff", re.compile(r"pay(?:s|ing)?[\s-]?off|paid[\s-]?off|payoff", re.IGNORECASE)),
)
_CLAIM_PAID = re.compile(r"claim (?:was |has been |had been |already |is )*paid|paid (?:a|the|their) (?:gap )?claim", re.IGNORECASE)
_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_US_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
_WORD_DATE = re.compile(r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b", re.IGNORECASE)
_WORD_DATE_DAY_FIRST = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?,?\s+(\d{4})\b", re.IGNORECASE)
_BEFORE_CANCELLATION_DATE = re.compile(r"(?:cancel\w*|\bon|as of|effective|\bby|off|payoff|date)\W*$", re.IGNORECASE)


def asks_for_quote(question: str) -> bool:
    """Whether the question asks what a cancellation would refund (not how refunds are computed)."""
    return bool(_REFUND_ASKED.search(question) and _ENDING.search(question) and not _HOW_COMPUTED.search(question))


def _dates(question: str) -> list[tuple[int, str]]:
    """Dates named in the question, by position, as ISO text; one that is no real day (February
    30th) is kept as written, so the quote refuses it rather than quoting another day."""
    found: list[tuple[int, str]] = []
    patterns = (
        (_ISO_DATE, lambda m: (int(m[1]), int(m[2]), int(m[3]))),
        (_US_DATE, lambda m: (int(m[3]), int(m[1]), int(m[2]))),
        (_WORD_DATE, lambda m: (int(m[3]), _MONTHS[m[1].lower()[:3]], int(m[2]))),
        (_WORD_DATE_DAY_FIRST, lambda m: (int(m[3]), _MONTHS[m[2].lower()[:3]], int(m[1]))),
    )
    for pattern, parts in patterns:
        for match in pattern.finditer(question):
            try:
                found.append((match.start(), date(*parts(match)).isoformat()))
            except ValueError:
                found.append((match.start(), match.group(0)))
    return sorted(found)


def quote_arguments(question: str) -> dict[str, Any] | None:
    """The quote tool's arguments read from a refund question; None when it does not ask for one.

    The date is the one said to be the cancellation's ("cancel on ...", "as of ..."), else the
    last one named; none (or "today") leaves it to the tool, which takes today. The reason is the
    first that its words name, else the customer's request.
    """
    if not asks_for_quote(question):
        return None
    arguments: dict[str, Any] = {
        "reason": next((reason for reason, pattern in _REASON_WORDS if pattern.search(question)), "customer_request"),
        "claim_paid": bool(_CLAIM_PAID.search(question)),
    }
    dates = _dates(question)
    if dates:
        named = [when for start, when in dates if _BEFORE_CANCELLATION_DATE.search(question[max(0, start - 30):start])]
        arguments["cancellation_date"] = (named or [when for _, when in dates])[-1]
    return arguments


def _quote_answer(result: dict[str, Any]) -> tuple[str, tuple[str, ...], bool]:
    if result.get("error"):
        return f"I could not quote a refund: {result['error']}", (), False
    reply = (
        f"If the GAP coverage is cancelled on {result['cancellation_date']} ({result['reason_words']}), the customer "
        f"would get back {_dollars(result['refund'])}. {result['reason_text']} This is refund quote {result['quote_id']}."
    )
    if result.get("warnings"):
        reply += " Note: " + "; ".join(result["warnings"]) + "."
    clause = (result.get("clause") or {}).get("quote")
    if clause:
        reply += f' The contract says: "{clause}"'
        return reply, (clause,), True
    return reply, (), True


def _fields_asked(question: str) -> list[str]:
    asked: list[str] = []
    gap_fee = bool(_GAP_FEE.search(question))
    if _PREMIUM.search(question) or gap_fee:
        asked.append("gap_insurance_premium")
    if _METHOD.search(question):
        asked.append("refund_calculation_method")
    if _CANCEL_FEE.search(_GAP_FEE.sub("", question)):
        asked.append("cancellation_fee")
        if "gap_insurance_premium" in asked and not gap_fee and not re.search(r"premium|gap\s+charge", question, re.IGNORECASE):
            asked.remove("gap_insurance_premium")  # "how much is the cancellation fee" asks for the fee only
    if "refund_calculation_method" in asked and re.search(r"how much|get back|money back", question, re.IGNORECASE):
        # What a customer gets back depends on all three terms.
        asked = ["gap_insurance_premium", "refund_calculation_method", "cancellation_fee"]
    return asked


def _known_fields(request: ChatRequest) -> tuple[dict[str, dict[str, Any]], str]:
    """The three fields (value, quote) and where they come from."""
    extraction = request.extraction
    if extraction and extraction.get("fields"):
        where = "approved by a reviewer" if extraction.get("status") == "approved" else "extracted, not yet reviewed"
        return extraction["fields"], where
    found = extract_fields(request.document_text) if request.document_text else {}
    return {name: {"value": f.value, "quote": f.quote} for name, f in found.items()}, "read from the contract's text; no extraction yet"


def _fields_answer(asked: list[str], request: ChatRequest) -> tuple[str, tuple[str, ...], bool]:
    fields, where = _known_fields(request)
    parts: list[str] = []
    quotes: list[str] = []
    stated = 0
    for name in asked:
        item = fields.get(name) or {}
        value = item.get("value")
        if value is not None:
            stated += 1
            if item.get("quote") and item["quote"] not in quotes:
                quotes.append(item["quote"])
        parts.append(_field_sentence(name, value))
    if not stated:
        return " ".join(parts), (), False
    reply = f"{' '.join(parts)} ({where})"
    if quotes:
        reply += " The contract says: " + " ".join(f'"{q}"' for q in quotes)
    return reply, tuple(quotes), True


def _dollars(value: Any) -> str:
    return f"${Decimal(str(value)):,.2f}"


def _field_sentence(name: str, value: Any) -> str:
    if name == "gap_insurance_premium":
        return f"The GAP premium is {_dollars(value)}." if value is not None else "The contract does not state the GAP premium."
    if name == "refund_calculation_method":
        if value is None:
            return "The contract does not state how a refund is calculated."
        return f"A refund of the unearned GAP charge is calculated {_METHOD_NAMES.get(value, value)}."
    if value is None:
        return "The contract does not state a cancellation fee."
    return "There is no cancellation fee." if str(value) in ("0", "0.00") else f"The cancellation fee is {_dollars(value)}."


def _detail_value(key: str, value: Any) -> str:
    if isinstance(value, dict):
        words = " ".join(str(value[k]) for k in ("year", "make", "model", "description") if value.get(k))
        return f"{words} (VIN {value['vin']})" if value.get("vin") else words
    return str(value)


def _details_answer(details: list[tuple[str, str]], request: ChatRequest) -> tuple[str, tuple[str, ...], bool]:
    parts: list[str] = []
    quotes: list[str] = []
    document = sentences(request.document_text) if request.document_text else []
    for key, template in details:
        value = request.contract[key]
        parts.append(template.format(_detail_value(key, value)))
        needle = (value.get("vin") if isinstance(value, dict) else str(value)) or ""
        for sentence in document if len(needle) >= 3 else ():
            if needle.lower() in sentence.text.lower():
                if sentence.text not in quotes:
                    quotes.append(sentence.text)
                break
    reply = " ".join(parts)
    if quotes:
        reply += " The contract says: " + " ".join(f'"{q}"' for q in quotes)
    return reply, tuple(quotes), True


def _summary(request: ChatRequest) -> tuple[str, tuple[str, ...], bool]:
    facts = request.contract
    who = facts.get("customer_name") or "an unnamed customer"
    vehicle = _detail_value("vehicle", facts["vehicle"]) if facts.get("vehicle") else None
    parts = [f"This is the GAP contract of {who}" + (f" (account {facts['account_number']})" if facts.get("account_number") else "") + "."]
    if vehicle:
        parts.append(f"It covers a {vehicle}.")
    if facts.get("term_months"):
        parts.append(f"The term is {facts['term_months']} months" + (f" from {facts['contract_start_date']}." if facts.get("contract_start_date") else "."))
    reply, quotes, _ = _fields_answer(["gap_insurance_premium", "refund_calculation_method", "cancellation_fee"], request)
    return " ".join(parts) + " " + reply, quotes, True
