"""Passages of a contract's text: cut it into passages and rank them by a question (chat retrieval,
the local answerer).

No index and no embeddings: a contract is a few pages, so each question scores the document's
passages directly (BM25 over words, with a small vocabulary of GAP synonyms so "how much did the
coverage cost" finds "The GAP charge is $795.00"). Every passage keeps its offsets, so whatever is
quoted from it can be shown in the document. Pure functions: nothing here touches a store.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

# A sentence ends at a newline or at . ! ? followed by white space ("$795.00" does not end one).
_SENTENCE_END = re.compile(r"\n|[.!?](?=\s|$)")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n|\n(?=\s*(?:\d{1,2}\.|[A-Z][A-Z ]{3,}[.:]))")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
MAX_PASSAGE_CHARS = 700
_MIN_SENTENCE_WORDS = 4

_STOPWORDS = frozenset(
    """a an and are as at be been but by can could did do does doing for from had has have how i if in
    into is it its me my of on or our shall should so than that the their them then there these this
    those to under upon was we were what when where which while who whom why will with would you your
    yours please tell say says said any there's what's it's let know about contract addendum agreement
    waiver customer""".split()
)

# Words a question and a contract use for the same thing; each maps to a canonical term.
_SYNONYMS = {
    "premium": "charge", "price": "charge", "cost": "charge", "costs": "charge",
    "charged": "charge", "charges": "charge",
    "fee": "fee", "fees": "fee", "penalty": "fee", "deducted": "fee", "deduct": "fee",
    "cancel": "cancel", "cancelled": "cancel", "canceled": "cancel", "cancellation": "cancel",
    "cancelling": "cancel", "canceling": "cancel", "terminate": "cancel", "termination": "cancel",
    "refund": "refund", "refunds": "refund", "refunded": "refund", "refundable": "refund",
    "unearned": "refund", "return": "refund", "returned": "refund", "money": "refund",
    "payoff": "payoff", "early": "payoff",
    "calculated": "calculate", "calculation": "calculate", "computed": "calculate", "method": "calculate",
    "formula": "calculate", "basis": "calculate", "compute": "calculate", "determined": "calculate",
    "determine": "calculate", "according": "calculate", "based": "calculate",
    "prorata": "pro", "rata": "pro", "prorated": "pro", "proportional": "pro",
    "78": "78", "78s": "78",
    "covers": "cover", "coverage": "cover", "covered": "cover", "protect": "cover", "protection": "cover",
    "car": "vehicle", "auto": "vehicle", "truck": "vehicle",
    "length": "term", "months": "term", "long": "term",
    "deductible": "deductible", "deductibles": "deductible",
    "stolen": "theft", "theft": "theft", "total": "loss", "totaled": "loss", "loss": "loss",
}


@dataclass(frozen=True)
class Passage:
    """A passage of the document text with its offsets (``text == document[start:end]``)."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Scored:
    passage: Passage
    score: float
    coverage: float
    """Share of the question's weight that the passage contains (0 to 1)."""


def terms(text: str) -> list[str]:
    """Canonical content words of a text (lower case, stop words dropped, synonyms folded)."""
    out: list[str] = []
    for word in _WORD.findall(text.lower()):
        word = word.replace("'s", "")
        if word in _STOPWORDS or len(word) < 2 and not word.isdigit():
            continue
        word = _SYNONYMS.get(word, word)
        out.append(_SYNONYMS.get(_stem(word), _stem(word)))
    return out


def _stem(word: str) -> str:
    """A light stemmer: enough to match "damaged" with "damage" and "payments" with "payment"."""
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix) and not word.endswith("ss"):
            return word[: -len(suffix)]
    return word


def _trimmed(text: str, start: int, end: int) -> Passage | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Passage(start, end, text[start:end]) if end > start else None


def sentences(text: str) -> list[Passage]:
    """The document's sentences (or lines), with offsets. A heading or number too short to be a
    sentence of its own ("6.", "GAP CHARGE.") is kept with the sentence after it."""
    out: list[Passage] = []
    left = 0
    pending: int | None = None
    for match in _SENTENCE_END.finditer(text):
        right = match.start() if match.group() == "\n" else match.end()
        passage = _trimmed(text, left if pending is None else pending, right)
        left = match.end()
        if passage is None:
            continue
        heading = len(passage.text) < 60 and passage.text.upper() == passage.text
        if (len(passage.text.split()) < _MIN_SENTENCE_WORDS or heading) and match.group() != "\n":
            pending = passage.start
            continue
        out.append(passage)
        pending = None
    tail = _trimmed(text, left if pending is None else pending, len(text))
    if tail is not None:
        out.append(tail)
    return out


def passages(text: str, *, max_chars: int = MAX_PASSAGE_CHARS) -> list[Passage]:
    """Paragraph-sized passages; a long paragraph is cut at sentence ends into pieces of at most
    ``max_chars`` (a single longer sentence stays whole)."""
    out: list[Passage] = []
    bounds = [0, *(m.start() for m in _PARAGRAPH_BREAK.finditer(text)), len(text)]
    for left, right in zip(bounds, bounds[1:]):
        paragraph = _trimmed(text, left, right)
        if paragraph is None:
            continue
        if len(paragraph.text) <= max_chars:
            out.append(paragraph)
            continue
        start = end = paragraph.start
        for sentence in sentences(paragraph.text):
            s_start, s_end = paragraph.start + sentence.start, paragraph.start + sentence.end
            if s_end - start > max_chars and end > start:
                piece = _trimmed(text, start, end)
                if piece is not None:
                    out.append(piece)
                start = s_start
            end = s_end
        piece = _trimmed(text, start, end)
        if piece is not None:
            out.append(piece)
    return out


def rank(question: str, candidates: list[Passage]) -> list[Scored]:
    """Candidates scored by BM25 against the question, best first; those sharing no term dropped."""
    wanted = terms(question)
    if not wanted or not candidates:
        return []
    docs = [Counter(terms(p.text)) for p in candidates]
    count = len(docs)
    average = sum(sum(d.values()) for d in docs) / count or 1.0
    frequency = Counter(term for d in docs for term in set(d))
    # A term the document never uses weighs as much as the rarest one: a question about it is
    # then mostly unanswered, which is what coverage has to show.
    weight = {t: math.log(1 + (count - frequency[t] + 0.5) / (frequency[t] + 0.5)) for t in set(wanted)}
    total_weight = sum(weight[t] for t in set(wanted)) or 1.0
    scored: list[Scored] = []
    for passage, doc in zip(candidates, docs):
        length = sum(doc.values())
        score = 0.0
        covered = 0.0
        for term in set(wanted):
            tf = doc.get(term, 0)
            if not tf:
                continue
            covered += weight[term]
            score += weight[term] * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / average))
        if score > 0:
            scored.append(Scored(passage, score, covered / total_weight))
    scored.sort(key=lambda s: (-s.score, s.passage.start))
    return scored


def select(question: str, text: str, *, budget: int) -> tuple[Passage, ...]:
    """The passages most relevant to the question that fit ``budget`` characters, in document order.

    A document that fits entirely is given entirely: the model then sees everything, and
    retrieval only decides what to drop from long contracts.
    """
    every = passages(text)
    if sum(len(p.text) for p in every) <= budget:
        return tuple(every)
    chosen: list[Passage] = []
    used = 0
    for item in rank(question, every):
        if used + len(item.passage.text) > budget:
            continue
        chosen.append(item.passage)
        used += len(item.passage.text)
    if not chosen:
        # Nothing matched: the start of a contract (parties, vehicle, price) is the best guess.
        for passage in every:
            if used + len(passage.text) > budget:
                break
            chosen.append(passage)
            used += len(passage.text)
    return tuple(sorted(chosen, key=lambda p: p.start))
