"""What the simulated model "thinks": prompt text in, tool arguments (or chat text) out.

The simulator's job is to exercise the SDKs and the wire formats, not to extract well; a separate
local extractor exists for accuracy. So the default brain is a few regular expressions that find
something plausible for each of the three fields. The one property it does keep is the one the
pipeline checks on every answer: each quote is a verbatim substring of the prompt (sliced out of
it, never rebuilt), so grounding behaves as it would with a real model.

Tests that need a particular answer pass their own ``Brain`` to the simulator.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from pipeline.vocabulary import FIELD_NAMES, REFUND_METHODS

logger = logging.getLogger(__name__)

Brain = Callable[[str], dict[str, Any]]
"""Prompt text (system and user messages, concatenated) -> the tool arguments object."""

ChatBrain = Callable[[str], str]
"""Prompt text -> the assistant's plain-text answer (requests that offer no tool)."""

AnswerBrain = Callable[[str], dict[str, Any]]
"""Prompt text -> the chat answer tool's arguments: ``{"answer", "answered", "quotes"}``."""

ToolBrain = Callable[[str, tuple[str, ...]], "tuple[str, dict[str, Any]] | None"]
"""(prompt text, the tools offered) -> (tool, arguments) to call a tool before answering, or None
to answer now. Asked only when the request lets the model choose among several tools."""

# "$795", "$ 1,295.00": a dollar sign is what tells an amount from a term in months or a date.
_MONEY = re.compile(r"\$\s?(\d{1,3}(?:,\d{3})+|\d+)(\.\d{1,2})?")
_PREMIUM_WORDS = re.compile(r"premium|charge|price|cost|debt[\s-]cancellation", re.IGNORECASE)
# "Debt cancellation fee" is a name for the GAP charge itself, not for the fee to cancel it.
_DEBT_CANCELLATION = re.compile(r"debt[\s-]cancellation", re.IGNORECASE)
_CANCEL = re.compile(r"cancel", re.IGNORECASE)
_FEE_WORDS = re.compile(r"fee|charge|penalt", re.IGNORECASE)
_NO_FEE = re.compile(r"\bno\s+(?:cancellation\s+)?fee|\bwithout\s+(?:any\s+)?(?:cancellation\s+)?fee", re.IGNORECASE)
_METHOD_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("rule_of_78", re.compile(r"rule\s+of\s+78|sum\s+of\s+(?:the\s+)?(?:months'?\s+)?digits", re.IGNORECASE)),
    ("pro_rata", re.compile(r"\bpro[\s-]?rata\b", re.IGNORECASE)),
    ("short_rate", re.compile(r"\bshort[\s-]rate\b", re.IGNORECASE)),
    ("actuarial", re.compile(r"\bactuarial\b", re.IGNORECASE)),
)
assert {name for name, _ in _METHOD_PATTERNS} == set(REFUND_METHODS)

# A sentence ends at a newline or at . ! ? followed by whitespace ("$795.00" does not end one).
_SENTENCE_END = re.compile(r"\n|[.!?](?=\s|$)")
_MAX_QUOTE = 240


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence (or line) around text[start:end], as offsets into ``text``."""
    left = 0
    for match in _SENTENCE_END.finditer(text, 0, start):
        left = match.end()
    right_match = _SENTENCE_END.search(text, end)
    if right_match is None:
        right = len(text)
    else:
        # Keep the closing punctuation, not the newline.
        right = right_match.start() if right_match.group() == "\n" else right_match.end()
    # Long run-on "sentences" (tables, OCR text) are cut to a window around the hit.
    if right - left > _MAX_QUOTE:
        left = max(left, start - _MAX_QUOTE // 2)
        right = min(right, max(end, left + _MAX_QUOTE))
    return left, right


def _quote(text: str, start: int, end: int) -> str:
    """A verbatim slice of ``text`` around [start, end), trimmed of surrounding whitespace."""
    left, right = _sentence_bounds(text, start, end)
    return text[left:right].strip()


def _money_value(match: re.Match[str]) -> str | None:
    try:
        amount = Decimal(match.group(1).replace(",", "") + (match.group(2) or ""))
    except InvalidOperation:
        return None
    return str(amount.quantize(Decimal("0.01")))


def _field(value: str | None, confidence: float, quote: str) -> dict[str, Any]:
    return {"value": value, "confidence": confidence, "quote": quote}


def _missing() -> dict[str, Any]:
    # The design's rule for a silent document: null with a low confidence, never a guess.
    return _field(None, 0.1, "")


def _about_cancelling(sentence: str) -> bool:
    return bool(_CANCEL.search(_DEBT_CANCELLATION.sub("", sentence)))


def _premium(text: str) -> dict[str, Any]:
    for match in _MONEY.finditer(text):
        left, right = _sentence_bounds(text, match.start(), match.end())
        sentence = text[left:right]
        if _PREMIUM_WORDS.search(sentence) and not _about_cancelling(sentence):
            value = _money_value(match)
            if value is not None:
                return _field(value, 0.95, _quote(text, match.start(), match.end()))
    return _missing()


def _cancellation_fee(text: str) -> dict[str, Any]:
    for match in _MONEY.finditer(text):
        left, right = _sentence_bounds(text, match.start(), match.end())
        sentence = text[left:right]
        if _about_cancelling(sentence) and _FEE_WORDS.search(sentence):
            value = _money_value(match)
            if value is not None:
                return _field(value, 0.9, _quote(text, match.start(), match.end()))
    no_fee = _NO_FEE.search(text)
    if no_fee:
        return _field("0.00", 0.85, _quote(text, no_fee.start(), no_fee.end()))
    return _missing()


def _refund_method(text: str) -> dict[str, Any]:
    hits = sorted(
        (match.start(), match.end(), name) for name, pattern in _METHOD_PATTERNS for match in pattern.finditer(text)
    )
    for start, end, name in hits:
        left, right = _sentence_bounds(text, start, end)
        sentence = text[left:right]
        # A sentence naming several methods (in words or as the enum values) is usually the
        # prompt's instructions listing the allowed answers, not the contract choosing one.
        lowered = sentence.lower()
        if sum(1 for method, pattern in _METHOD_PATTERNS if pattern.search(sentence) or method in lowered) > 1:
            continue
        return _field(name, 0.9, _quote(text, start, end))
    return _missing()


def default_brain(prompt: str) -> dict[str, Any]:
    """Plausible tool arguments for the three fields, each quote a verbatim substring of ``prompt``."""
    finders = {
        "gap_insurance_premium": _premium,
        "refund_calculation_method": _refund_method,
        "cancellation_fee": _cancellation_fee,
    }
    assert tuple(finders) == FIELD_NAMES
    return {name: finder(prompt) for name, finder in finders.items()}


def default_chat_brain(prompt: str) -> str:
    """A short answer quoting the first sentence of the prompt, so a test can see its text went through."""
    stripped = prompt.strip()
    end = _SENTENCE_END.search(stripped)
    first = stripped[: end.end() if end else len(stripped)].strip()[:_MAX_QUOTE]
    return f'Simulated answer. The text begins: "{first}"' if first else "Simulated answer."


_PASSAGE = re.compile(r'<passage start="\d+" end="\d+">\n(.*?)\n</passage>', re.DOTALL)
_TOOL_RESULT = re.compile(r"<tool_result>\n(.*?)\n</tool_result>", re.DOTALL)


def _question(prompt: str) -> str:
    """The agent's question: after the prompt's last ``Question:``, before any tool results."""
    from pipeline.providers.prompts.chat import QUESTION_MARKER

    return prompt.rsplit(QUESTION_MARKER, 1)[-1].split("<tool_result>", 1)[0].strip()


def _tool_results(prompt: str) -> list[dict[str, Any]]:
    results = []
    for text in _TOOL_RESULT.findall(prompt):
        try:
            value = json.loads(text)
        except ValueError:
            continue
        if isinstance(value, dict):
            results.append(value)
    return results


def default_tool_brain(prompt: str, tools: tuple[str, ...]) -> tuple[str, dict[str, Any]] | None:
    """Call the refund quote tool, once, for a question about how much a cancellation refunds.

    It reads the question as the offline answerer does (dates, reasons, a paid claim); a model
    would do the same with more words."""
    from pipeline.providers.prompts.chat import QUOTE_TOOL_NAME
    from pipeline.providers.local.answerer import quote_arguments

    if QUOTE_TOOL_NAME not in tools or _tool_results(prompt):
        return None
    arguments = quote_arguments(_question(prompt))
    return (QUOTE_TOOL_NAME, arguments) if arguments is not None else None


def default_answer_brain(prompt: str) -> dict[str, Any]:
    """A chat answer quoting the passage sentence that best matches the question.

    The question is the text after the prompt's last ``Question:``; the candidates are the
    sentences of its ``<passage>`` blocks, so each quote is a verbatim slice of the contract.
    When no sentence shares a word with the question, it says the contract does not answer it.
    After a refund quote tool result, it answers with the quote's figure, id and clause.
    """
    from pipeline.text.passages import rank, sentences

    quoted = next((r for r in reversed(_tool_results(prompt)) if "quote_id" in r or "error" in r), None)
    if quoted is not None:
        if "error" in quoted:
            return {"answer": f"Simulated answer. No quote could be made: {quoted['error']}", "answered": False, "quotes": []}
        clause = (quoted.get("clause") or {}).get("quote")
        return {
            "answer": f"Simulated answer. Cancelled on {quoted['cancellation_date']}, the customer gets back "
                      f"${Decimal(quoted['refund']):,.2f} (quote {quoted['quote_id']}).",
            "answered": True,
            "quotes": [clause] if clause else [],
        }
    question = _question(prompt)
    candidates = [sentence for passage in _PASSAGE.findall(prompt) for sentence in sentences(passage)]
    ranked = [item for item in rank(question, candidates) if item.coverage >= 0.5]
    if not ranked:
        return {"answer": "The contract does not answer that question.", "answered": False, "quotes": []}
    quote = ranked[0].passage.text
    return {"answer": f'Simulated answer. The contract says: "{quote}"', "answered": True, "quotes": [quote]}
