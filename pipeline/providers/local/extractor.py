"""Offline, deterministic extraction of the three GAP refund fields from a contract's text.

This is the `local` provider's engine: no network, no model, standard library only. It reads
a contract the way a careful clerk skims one, in five steps.

1. **Normalise** a copy of the text for matching: lower case, typographic quotes and dashes
   folded to ASCII, every whitespace run (OCR line breaks included) collapsed to one space, and
   "debt cancellation" joined into one token so that a premium called "debt cancellation fee"
   never reads as a cancellation fee. An offset map takes each normalised position back to the
   original, so every quote returned is a verbatim slice of the input.
2. **Split into sentences** at sentence punctuation and blank lines, not at single line breaks,
   which OCR scatters mid-sentence. Abbreviations, initials and leader dots ("Price ....
   $795.00") do not end a sentence; a short heading ("4. Waiver Charge.") is read as part of
   the sentence after it.
3. **Find money amounts**: "$795.00", "$ 1,095", "USD 795", "795.00 dollars", bare "1,095.00"
   in tables, and amounts in words ("fifty dollars", "Seven Hundred Forty-Nine and 00/100
   Dollars"); "fifty dollars ($50.00)" is one amount.
4. **Score every amount** as the premium and as the cancellation fee from the cue phrases in its
   own sentence. Closer cues weigh more, and a neighbouring amount cuts the context, so a table
   row is read on its own. Labels of other amounts (amount financed, deductible cap, maximum
   benefit, minimum refund, late fee, ...) count against. A stated "no cancellation fee" is a
   0.00 candidate competing with stated amounts.
5. **Find refund-method mentions**, drop negated ones ("The Rule of 78s will not be used",
   "pro rata rather than ...") and read "90% of the pro rata refund" as short rate; then weight
   each mention by its sentence (a refund sentence counts more; an example, a state supplement,
   another product or the loan's own finance-charge rule counts less).

A field's confidence grows with the winning score and shrinks with the score of the best
different value, so a clearly labelled, unchallenged answer lands around 0.9 and a weak or
contested one well below. A field without a candidate is None with a low confidence, never a
guess.

Speed: Python's regex engine skips ahead quickly only when a pattern starts with literal
characters, so the scanned patterns avoid a leading ``\\b`` or look-behind; ``_scan`` checks the
word boundary on the few matches instead.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from pipeline.providers.base import FieldValue
from pipeline.text.amounts import Amount as _Amount
from pipeline.text.amounts import find_amounts as _find_amounts
from pipeline.text.amounts import scan as _scan
from pipeline.text.normalising import normalise

__all__ = ["extract_fields"]

MAX_QUOTE_CHARS = 300
NONE_CONFIDENCE = 0.2

# Minimum scores to report a value at all. The premium's is low because every GAP contract
# has a price and a bare table row ("GAP Waiver $695.00") is weak but real evidence; the fee's
# is higher because many contracts say nothing about a fee and a stray "fee" must not become one.
_PREMIUM_MIN_SCORE = 0.6
_FEE_MIN_SCORE = 1.8
_METHOD_MIN_SCORE = 2.0

# How far (normalised characters) a cue may sit from an amount, and how much a cue after the
# amount counts compared with one before it. A label glued to the amount ("a $25.00
# administrative fee") counts fully.
_LEFT_WINDOW = 120
_RIGHT_WINDOW = 80
_NEGATIVE_WINDOW = 60  # labels of other amounts only matter close by
_RIGHT_FACTOR = 0.7
_ATTACHED_DISTANCE = 2
# A cue after the amount that runs straight into the next amount is that amount's label, as in
# table rows ("GAP Waiver $695.00  Less: cash down payment ($2,000.00)").
_NEXT_LABEL_DISTANCE = 40
_NEXT_LABEL_FACTOR = 0.2
# A cue in another clause ("we refund the unearned premium, less a fee of $50") weighs less.
_OTHER_CLAUSE_FACTOR = 0.6
_HEADING_MAX_WORDS = 5
_HEADING_MAX_CHARS = 40


# --- The document --------------------------------------------------------------------------

@dataclass
class _Doc:
    text: str  # the original, untouched
    norm: str  # folded, lower-cased, single-spaced copy that all matching runs on
    chunk_norm: list[int]  # norm start of each run of characters copied unchanged ...
    chunk_orig: list[int]  # ... and where that run starts in the original
    sentences: list[tuple[int, int]]  # [start, end) in norm
    sentence_starts: list[int]
    context_starts: list[int]  # per sentence: its start once a heading just before it is included
    _adjustments: dict[int, float] = field(default_factory=dict)

    def original(self, position: int) -> int:
        """Original offset of the norm character at ``position``."""
        chunk = bisect.bisect_right(self.chunk_norm, position) - 1
        return self.chunk_orig[chunk] + position - self.chunk_norm[chunk]

    def sentence_index(self, position: int) -> int:
        return max(bisect.bisect_right(self.sentence_starts, position) - 1, 0)

    def context(self, position: int) -> tuple[int, int]:
        """Span of the sentence holding ``position``, its heading included."""
        index = self.sentence_index(position)
        return self.context_starts[index], self.sentences[index][1]

    def context_text(self, position: int) -> str:
        start, end = self.context(position)
        return self.norm[start:end]

    def adjustment(self, position: int) -> float:
        """Penalty of the sentence at ``position`` for not stating this contract's own terms."""
        index = self.sentence_index(position)
        if index not in self._adjustments:
            self._adjustments[index] = _sentence_adjustment(self.context_text(position))
        return self._adjustments[index]


_WHITESPACE = re.compile(r"\s+")


def _build_doc(text: str) -> _Doc:
    normalised = normalise(text)
    norm, breaks = normalised.norm, normalised.breaks
    chunk_norm, chunk_orig = normalised.chunk_norm, normalised.chunk_orig
    sentences = _sentence_spans(norm, breaks)
    return _Doc(
        text=text,
        norm=norm,
        chunk_norm=chunk_norm,
        chunk_orig=chunk_orig,
        sentences=sentences,
        sentence_starts=[start for start, _ in sentences],
        context_starts=_context_starts(norm, sentences),
    )


# --- Sentences -------------------------------------------------------------------------------

_SENTENCE_MARK = re.compile(r"[.;!?](?= )")
_ABBREVIATIONS = frozenset(
    "inc incl no nos co corp ltd llc n.a u.s e.g i.e vs etc mr mrs ms dr st jr sr approx dept".split()
)
_WORD_BEFORE = re.compile(r"([a-z.]+)$")
# "4.", "Section 6 - Cost of Protection.", "Article V - Price.": a numbering prefix, then words.
# Headings are verbless ("Waiver Charge.", "Cancellation and refunds."); a short sentence
# with a verb ("Refunds are pro rata.", "No fee applies.") is a statement of its own.
_HEADING_VERB = re.compile(r"\b(?:is|are|was|were|will|shall|may|must|be|can|does|do|has|have|apply|applies|paid)\b")
_HEADING_NUMBER = re.compile(r"(?:(?:section|article|part|item) )?(?:\d+|[ivxlc]+|[a-z])?[.):]?(?: ?- ?)?")


def _sentence_spans(norm: str, breaks: set[int]) -> list[tuple[int, int]]:
    cuts = set(breaks)
    for mark in _SENTENCE_MARK.finditer(norm):
        position = mark.start()
        if position == 0 or norm[position - 1] in ". ":
            continue  # leader dots ("Price ........ $795.00") and stray marks
        if mark.group() == "." and _is_abbreviation(norm, position):
            continue
        cuts.add(mark.end())  # the space after the mark
    spans: list[tuple[int, int]] = []
    start = 0
    for cut in sorted(cuts) + [len(norm)]:
        if cut > start:
            spans.append((start, cut))
        start = cut + 1
    return spans or [(0, len(norm))]


def _is_abbreviation(norm: str, dot: int) -> bool:
    word = _WORD_BEFORE.search(norm, max(dot - 12, 0), dot)
    if word is None:
        return False
    token = word.group(1)
    # Single letters are initials ("Maria L. Gonzalez") or list markers ("A. Your loan").
    return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())


def _is_heading(norm: str, span: tuple[int, int]) -> bool:
    start, end = span
    if end - start > _HEADING_MAX_CHARS or norm.count(" ", start, end) >= _HEADING_MAX_WORDS:
        return False
    # Short data lines ("APR 6.9%.", "Payment $371.05 x 66.") are not headings.
    words = norm[start:end]
    if any(c.isdigit() for c in words[_HEADING_NUMBER.match(words).end():]):
        return False
    return not _HEADING_VERB.search(words)


def _context_starts(norm: str, sentences: list[tuple[int, int]]) -> list[int]:
    starts: list[int] = []
    for index, (start, _) in enumerate(sentences):
        first = index
        # At most two stacked headings ("6." + "Waiver Charge.").
        while first > 0 and index - first < 2 and _is_heading(norm, sentences[first - 1]):
            first -= 1
        starts.append(sentences[first][0])
    return starts


# --- Cue phrases around amounts --------------------------------------------------------------

@dataclass(frozen=True)
class _Cue:
    pattern: re.Pattern[str]
    weight: float  # positive: evidence for the field; negative: evidence it is another amount
    left_only: bool = False  # limits ("up to", "less than") bind only the amount after them


def _cue(pattern: str, weight: float, *, left_only: bool = False) -> _Cue:
    return _Cue(re.compile(pattern), weight, left_only)


# Words naming the GAP product; "gap" alone is one because a table row labelled "GAP Waiver"
# or "GAP insurance" is the product's price.
_PRODUCT = r"(?:gap|waiver|addendum|agreement|certificate|contract|coverage|protection|product|policy)"
_PRICE_WORD = r"(?:charges?|fees?|price|cost|premium)"
_FEE_LABEL = (
    r"cancel(?:l)?ation (?:processing |administrative |admin |service |handling )?(?:fees?|charges?)"
    r"|termination (?:fee|charge)"
    r"|(?:fee|charge) (?:[a-z]+ ){0,3}?(?:to|for|upon|on) (?:all |any |each |every |a |the |this |your )?cancel"
    r"|(?:for|to) process(?:ing)? (?:a |the |your |each |any )?cancel"  # "$25.00 for processing your cancellation"
    r"|(?:less|minus) (?:a |an |the |any )?(?:[a-z]+ )?(?:fee|charge)\b"  # "refunded pro rata, less a fee of $50"
)
_PREMIUM_LABEL = (
    rf"premiums?\b|gap (?:(?:{_PRODUCT}|insurance) )?{_PRICE_WORD}\b|debt_cancel\w* (?:fee|charge)"
    rf"|(?:waiver|addendum|agreement|certificate|coverage|protection|product) (?:charges?|fees?|price|cost)\b"
    rf"|(?:cost|price|charge|fee) (?:of|for) (?:this |the |your )?{_PRODUCT}\b"
)

# Labels of amounts that are neither premium nor fee; shared by both fields.
_OTHER_AMOUNT_CUES = (
    _cue(r"amount financed|financed amount|principal\b|loan amount|total of payments|total sale price", -3.0),
    _cue(r"payments?\b|monthly\b|per month|installments?\b|x \d+\b", -3.0),
    _cue(r"cash price|sales? price|selling price|msrp\b|retail (?:price|value)|suggested|book value|nada\b"
         r"|actual cash value|acv\b|trade-in|allowance|payoff|down payment|cash down|down\b"
         r"|vehicle (?:purchase |sale |sales |cash )?price|price of (?:the|your) vehicle", -3.0),
    _cue(r"deductibles?\b", -3.0),
    _cue(r"finance charges?|interest\b|annual percentage rate|apr\b", -3.0),
    _cue(r"service contract|warranty|credit life|life insurance|disability|tire\b|etch|maintenance"
         r"|documentary|document preparation|doc fee|title\b|license|registration|tax\b|public officials", -3.0),
    _cue(r"late\b|skip-a-payment|extension fee|returned|duplicate|copy\b|acquisition", -3.0),
    _cue(r"benefits?\b|negative equity", -2.0),
    _cue(r"up to|not (?:to )?exceed|maximum|max\b|limit|capped|cap\b|at most|no more than|over\b|above\b",
         -3.0, left_only=True),
    _cue(r"less than|under\b|below|minimum|at least|or less", -3.0, left_only=True),
    _cue(r"refunds? (?:would be|will be|of|equals?|is)\b|would be", -2.0, left_only=True),
)

_PREMIUM_CUES = (
    _cue(r"premiums?\b", 3.0),
    _cue(rf"gap (?:(?:{_PRODUCT}|insurance) )?{_PRICE_WORD}\b", 3.0),
    _cue(rf"{_PRODUCT} {_PRICE_WORD}\b", 2.5),
    _cue(r"debt_cancel\w* (?:fee|charge)", 3.0),
    _cue(rf"(?:cost|price|charge|fee) (?:of|for) (?:this |the |your )?{_PRODUCT}\b", 3.0),
    # "You agree to pay $640 for this waiver": the label may follow the amount.
    _cue(r"pay\b|you paid\b|paid for\b", 1.0),
    _cue(r"consideration\b", 2.0),  # "In consideration of this waiver you paid $598.00"
    _cue(rf"for (?:this|the|your) {_PRODUCT}\b", 1.5),
    _cue(r"gap(?: (?:waiver|insurance|coverage|protection|addendum|contract|agreement|product))?\b", 2.0),
    _cue(r"(?:charge|price|cost)\b", 0.8),
    _cue(_FEE_LABEL + r"|(?:processing|administrative|admin|handling) (?:fee|charge)", -3.0),
    *_OTHER_AMOUNT_CUES,
)

_FEE_CUES = (
    _cue(_FEE_LABEL, 3.0),
    _cue(r"(?:processing|administrative|admin|handling|service) (?:fee|charge)", 2.0),
    _cue(r"fees?\b|charged?\b", 0.8),
    _cue(r"(?:if|when|should|once|upon) (?:you )?cancel", 1.5),  # "You will be charged $50 if you cancel"
    # Price labels name the premium even when they say "fee" ("GAP Waiver fee").
    _cue(_PREMIUM_LABEL + r"|price\b|cost\b", -3.0),
    *_OTHER_AMOUNT_CUES,
)


def _cue_matches(
    norm: str, cue_sets: tuple[tuple[_Cue, ...], ...], regions: list[tuple[int, int]]
) -> list[list[tuple[int, int, _Cue]]]:
    """Matches of each cue set, sorted by position, looking only inside ``regions``.

    Cues only matter near an amount, so scanning the windows around amounts rather than the
    whole document keeps a long contract fast; cues shared by both sets are scanned once.
    """
    found: dict[int, list[tuple[int, int, _Cue]]] = {}
    results: list[list[tuple[int, int, _Cue]]] = []
    for cues in cue_sets:
        matches: list[tuple[int, int, _Cue]] = []
        for cue in cues:
            if id(cue) not in found:
                found[id(cue)] = [
                    (m.start(), m.end(), cue) for lo, hi in regions for m in _scan(cue.pattern, norm, lo, hi)
                ]
            matches.extend(found[id(cue)])
        matches.sort(key=lambda item: item[0])
        results.append(matches)
    return results


def _amount_regions(doc: _Doc, amounts: list[_Amount]) -> list[tuple[int, int]]:
    margin = 40  # a cue may start before the window and still end inside it
    regions: list[tuple[int, int]] = []
    for amount in amounts:
        context_start, sentence_end = doc.context(amount.start)
        lo = max(context_start, amount.start - _LEFT_WINDOW - margin)
        hi = min(sentence_end, amount.end + _RIGHT_WINDOW + margin)
        if regions and lo <= regions[-1][1]:
            regions[-1] = (regions[-1][0], max(regions[-1][1], hi))
        else:
            regions.append((lo, hi))
    return regions


_CLAUSE_MARK = re.compile(r"[,;] ")  # not "$1,095": a thousands comma has no space after it
_ROW_END = re.compile(r"[^\S\n|]*\|?[^\S\n]*(?:\n|$)")
_COLUMNS = re.compile(r"\||\.\.|\S(?: {2,}|\t)\S")
_LABELLED = re.compile(r"\||\.\.|\S(?: {2,}|\t)\S|:")


def _ends_table_row(doc: _Doc, start: int, end: int, *, columns: re.Pattern[str] = _COLUMNS) -> bool:
    """Whether norm span [start, end) closes a table-like line (pipes, leader dots, columns).

    Only then is a line break meaningful: in OCR prose, lines break anywhere. Quoting also
    accepts a "Label: value" line (``columns=_LABELLED``); scoring does not, because a colon in
    OCR prose is no sign that the next line is about something else.
    """
    original_end = doc.original(end - 1) + 1
    if not _ROW_END.match(doc.text, original_end):
        return False
    original_start = doc.original(start)
    line_start = doc.text.rfind("\n", 0, original_start) + 1
    return bool(columns.search(doc.text, line_start, original_start + 1))


def _weighted(weight: float, distance: int, factor: float, *, left: bool) -> float:
    """A cue's contribution: full next to the amount, fading with distance, zero out of range."""
    if weight > 0:
        # Half weight 40 characters away: "The total GAP price for the full Term is $1,050.00".
        limit, scale = (_LEFT_WINDOW if left else _RIGHT_WINDOW), 40.0
    else:
        # "Amount Financed $X", "up to $1,000", "less than $5.00": those labels sit close.
        limit, scale = _NEGATIVE_WINDOW, 20.0
    if distance > limit:
        return 0.0
    return weight * factor / (1.0 + distance / scale)


def _combine(contributions: list[float]) -> float:
    """The best positive and the worst negative count fully, the runners-up a little.

    Overlapping cues ("gap waiver charge" is also "gap" and "charge") must not add up to more
    evidence than one clear label.
    """
    positives = sorted((c for c in contributions if c > 0), reverse=True)
    negatives = sorted(c for c in contributions if c < 0)
    score = 0.0
    for ranked in (positives, negatives):
        if ranked:
            score += ranked[0] + (0.3 * ranked[1] if len(ranked) > 1 else 0.0)
    return score


def _amount_cue_score(
    doc: _Doc, matches: list[tuple[int, int, _Cue]], amounts: list[_Amount], index: int
) -> tuple[float, float]:
    """(score, best positive contribution) of the cues around ``amounts[index]``."""
    amount = amounts[index]
    context_start, sentence_end = doc.context(amount.start)
    previous = amounts[index - 1] if index > 0 else None
    following = amounts[index + 1] if index + 1 < len(amounts) else None
    if following is not None and following.start >= sentence_end:
        following = None
    left_bound = max(context_start, previous.end if previous else 0)
    right_bound = following.start if following else sentence_end
    if _ends_table_row(doc, amount.start, amount.end):
        right_bound = amount.end

    contributions: list[float] = []
    for start, end, cue in matches[bisect.bisect_left(matches, left_bound, key=lambda m: m[0]):]:
        if start >= right_bound:
            break
        if end <= amount.start:
            factor = _OTHER_CLAUSE_FACTOR if _CLAUSE_MARK.search(doc.norm, end, amount.start) else 1.0
            contributions.append(_weighted(cue.weight, amount.start - end, factor, left=True))
        elif start >= amount.end and not cue.left_only:
            distance = start - amount.end
            if following and following.start - end <= _NEXT_LABEL_DISTANCE:
                factor = _NEXT_LABEL_FACTOR
            elif distance <= _ATTACHED_DISTANCE:
                factor = 1.0
            else:
                factor = _RIGHT_FACTOR
            if _CLAUSE_MARK.search(doc.norm, amount.end, start):
                factor *= _OTHER_CLAUSE_FACTOR
            contributions.append(_weighted(cue.weight, distance, factor, left=False))
    best_positive = max((c for c in contributions if c > 0), default=0.0)
    return _combine(contributions), best_positive


# --- Sentence context ------------------------------------------------------------------------

_CANCEL_CONTEXT = re.compile(
    r"\bcancel|terminat|\brefund|\bend (?:this|the)\b|deduct|subtract|retain|withh[oe]ld|\bkeep\b|reduc"
)
_EXAMPLE = re.compile(
    r"\bfor example\b|\bfor instance\b|\be\.g\.|illustrat|hypothetical|\bsuppose\b|\bassume\b|\bexample\b"
)
_GAP_SUBJECT = re.compile(
    r"\bgap\b|\bwaiver\b|premium|debt_cancel|this (?:addendum|agreement|certificate|contract|protection|coverage)"
)
_OTHER_PRODUCT = re.compile(
    r"service contract|extended warranty|credit life|life insurance|disability insurance"
    r"|tire and wheel|maintenance plan"
)
_FREE_LOOK = re.compile(r"within (?:the first )?\d+ days|first \d+ days|free[- ]look")
_STATE_NAMES = (
    "alabama|alaska|arizona|arkansas|california|colorado|connecticut|delaware|florida|georgia|hawaii|idaho|"
    "illinois|indiana|iowa|kansas|kentucky|louisiana|maine|maryland|massachusetts|michigan|minnesota|"
    "mississippi|missouri|montana|nebraska|nevada|new hampshire|new jersey|new mexico|new york|"
    "north carolina|north dakota|ohio|oklahoma|oregon|pennsylvania|rhode island|south carolina|south dakota|"
    "tennessee|texas|utah|vermont|virginia|washington|west virginia|wisconsin|wyoming|district of columbia"
)
# A clause that only applies in some state ("For New York residents, ..."): a supplement that
# may not govern this contract.
_STATE_CONDITION = re.compile(
    rf"\b(?:residents?|buyers?|purchasers?|customers?|borrowers?|debtors?|members?|contracts?) "
    rf"(?:of|in|residing in|located in) (?:the state of )?(?:{_STATE_NAMES})\b"
    rf"|\b(?:{_STATE_NAMES}) (?:residents?|buyers?|purchasers?|customers?|borrowers?|only|supplement)\b"
    rf"|\bin (?:the state of )?(?:{_STATE_NAMES}),|\bif you (?:live|reside) in\b|\b(?:{_STATE_NAMES}):"
)


def _sentence_adjustment(sentence: str) -> float:
    """Penalties for sentences that do not state this contract's own terms."""
    adjustment = 0.0
    if _EXAMPLE.search(sentence):
        adjustment -= 3.0
    if _STATE_CONDITION.search(sentence):
        adjustment -= 2.0
    if _OTHER_PRODUCT.search(sentence) and not _GAP_SUBJECT.search(sentence):
        adjustment -= 2.0
    return adjustment


# --- Candidates and decisions ----------------------------------------------------------------

@dataclass(frozen=True)
class _Candidate:
    value: str
    score: float
    start: int  # evidence span in norm: the amount or the method wording
    end: int


def _confidence(best: float, runner_up: float) -> float:
    """Map a winning score, and the best score of a different value, to [0.3, 0.97].

    One clear label next to the value scores about 3, which maps to about 0.9; a weak cue
    (a bare table row) scores about 1, which maps to about 0.6. A competing value pulls the
    confidence down in proportion to how close it came.
    """
    strength = 1.0 - math.exp(-best / 1.5)
    confidence = 0.3 + 0.67 * strength
    if runner_up > 0:
        confidence *= 1.0 - 0.45 * min(runner_up / best, 1.0)
    return round(min(max(confidence, 0.3), 0.97), 3)


def _decide(doc: _Doc, candidates: list[_Candidate], *, min_score: float) -> FieldValue:
    """Pick the best-supported value; repeated mentions of one value help a little."""
    by_value: dict[str, list[_Candidate]] = {}
    for candidate in candidates:
        if candidate.score >= min_score:
            by_value.setdefault(candidate.value, []).append(candidate)
    if not by_value:
        return FieldValue(None, NONE_CONFIDENCE)
    totals: list[tuple[float, _Candidate]] = []
    for group in by_value.values():
        group.sort(key=lambda c: (-c.score, c.start))
        totals.append((group[0].score + min(0.3 * (len(group) - 1), 0.6), group[0]))
    # Ties go to the earlier evidence, so the answer never depends on iteration order.
    totals.sort(key=lambda item: (-item[0], item[1].start))
    best_total, evidence = totals[0]
    runner_up = totals[1][0] if len(totals) > 1 else 0.0
    quote, start, end = _quote(doc, evidence)
    return FieldValue(evidence.value, _confidence(best_total, runner_up), quote, start, end)


def _quote(doc: _Doc, evidence: _Candidate) -> tuple[str, int, int]:
    """A verbatim passage around the evidence, at most MAX_QUOTE_CHARS long.

    Its sentence (with heading) when short enough; the evidence's line for table rows or long
    sentences; else a window centred on the evidence.
    """
    text = doc.text
    context_start, context_end = doc.context(evidence.start)
    lo, hi = doc.original(context_start), doc.original(max(context_end, evidence.end) - 1) + 1
    ev_lo, ev_hi = doc.original(evidence.start), doc.original(evidence.end - 1) + 1
    if hi - lo > MAX_QUOTE_CHARS or _ends_table_row(doc, evidence.start, evidence.end, columns=_LABELLED):
        # Tables: the row itself says it best ("GAP Waiver (paid to Seller)   $695.00").
        lo = max(lo, text.rfind("\n", 0, ev_lo) + 1)
        line_end = text.find("\n", ev_hi)
        hi = min(hi, line_end if line_end != -1 else len(text))
    if hi - lo > MAX_QUOTE_CHARS:
        slack = max(MAX_QUOTE_CHARS - (ev_hi - ev_lo), 0) // 2
        lo, hi = max(lo, ev_lo - slack), min(hi, ev_hi + slack)
        # Do not cut words: start after the first space, end before the last one.
        cut = _WHITESPACE.search(text, lo, ev_lo)
        lo = cut.end() if cut and lo > 0 and not text[lo - 1].isspace() else lo
        cut = max((m.start() for m in _WHITESPACE.finditer(text, ev_hi, hi)), default=hi)
        hi = cut if hi < len(text) and not text[hi].isspace() else hi
    while lo < hi and text[lo].isspace():
        lo += 1
    while hi > lo and text[hi - 1].isspace():
        hi -= 1
    return text[lo:hi], lo, hi


# --- Premium and cancellation fee ------------------------------------------------------------

def _score_amounts(doc: _Doc, amounts: list[_Amount]) -> tuple[list[_Candidate], list[_Candidate]]:
    """Score every amount as premium and as fee; each amount counts for the field it fits better."""
    premium_matches, fee_matches = _cue_matches(doc.norm, (_PREMIUM_CUES, _FEE_CUES), _amount_regions(doc, amounts))
    premiums: list[_Candidate] = []
    fees: list[_Candidate] = []
    for index, amount in enumerate(amounts):
        adjustment = doc.adjustment(amount.start)
        premium_score = _amount_cue_score(doc, premium_matches, amounts, index)[0] + adjustment
        fee_score, fee_label = _amount_cue_score(doc, fee_matches, amounts, index)
        # A fee label in a sentence about cancelling or refunds is a cancellation fee; a bare
        # "fee" elsewhere (payoff quotes, copies) is not.
        if fee_label > 0.5 and _CANCEL_CONTEXT.search(doc.context_text(amount.start)):
            fee_score += 1.0
        fee_score += adjustment
        value = f"{amount.value:.2f}"
        if premium_score > fee_score and amount.value > 0:
            premiums.append(_Candidate(value, premium_score, amount.start, amount.end))
        elif fee_score > premium_score:
            fees.append(_Candidate(value, fee_score, amount.start, amount.end))
    return premiums, fees


_FEE_NAME = r"(?:cancellation|cancel|termination|administrative|processing|admin)"
# Ways a contract says cancelling costs nothing. These name the fee explicitly ...
_NO_FEE_EXPLICIT = re.compile(
    rf"no {_FEE_NAME}(?: or {_FEE_NAME})? (?:fee|charge)s?\b"
    r"|(?:cancellation|termination) (?:fee|charge)s?[\s:|.-]*(?:none|waived|n/a|not applicable)\b"
    r"|(?:does|do|will|shall|may) not (?:charge|impose|assess|collect|deduct|apply|retain) (?:a|any) "
    rf"(?:{_FEE_NAME} )?(?:fee|charge)"
    r"|(?:cancellation|termination) (?:fee|charge)s? (?:will|shall|may) not be "
    r"(?:charged|imposed|assessed|collected|deducted|applied)"
    r"|no (?:fee|charge) (?:will|shall|may) be (?:charged|imposed|assessed|deducted|collected)"
    r"|no (?:fee|charge) (?:to|for) cancel"
)
# ... these only when the sentence is about cancelling.
_NO_FEE_GENERIC = re.compile(
    r"without (?:any )?(?:fee|charge|penalty|cost)s?\b|free of (?:any )?charge\b|at no (?:cost|charge)\b"
    r"|no (?:fee|charge)\b|fee[- ]free\b"
)


def _no_fee_candidates(doc: _Doc) -> list[_Candidate]:
    candidates: list[_Candidate] = []
    claimed: list[tuple[int, int]] = []
    for pattern, weight in ((_NO_FEE_EXPLICIT, 3.0), (_NO_FEE_GENERIC, 2.5)):
        for match in _scan(pattern, doc.norm):
            if any(start < match.end() and match.start() < end for start, end in claimed):
                continue  # "no fee will be charged" is one statement, not two
            claimed.append(match.span())
            sentence = doc.context_text(match.start())
            if not _CANCEL_CONTEXT.search(sentence):
                continue
            score = weight + 1.0 + doc.adjustment(match.start())
            if _FREE_LOOK.search(sentence):
                score -= 1.5  # "no fee within the first 30 days" says nothing about later
            candidates.append(_Candidate("0.00", score, match.start(), match.end()))
    return candidates


# --- Refund calculation method ---------------------------------------------------------------

_METHOD_PATTERNS: tuple[tuple[str, re.Pattern[str], float], ...] = (
    ("rule_of_78", re.compile(r"rule[- ]of[- ](?:78|seventy[- ]?eight)(?:'?s|ths)?"), 3.0),
    ("rule_of_78", re.compile(
        r"sum[- ]?of[- ]?(?:the[- ]?)?(?:months?'?[- ]?|monthly[- ]?|periodic[- ]?)?digits"
    ), 3.0),
    ("rule_of_78", re.compile(r"78(?:ths|'?s)? (?:method|basis)"), 2.5),
    ("short_rate", re.compile(r"short[- ]?rate\b"), 3.0),
    ("pro_rata", re.compile(r"pro[- ]?rat(?:a|ed|ion|e|ing)\b"), 3.0),
    ("pro_rata", re.compile(
        r"in proportion to (?:the )?(?:number of )?(?:full |unexpired |remaining |unused )?(?:days|months|term)"
        r"|proportion(?:al|ate)(?:ly)? to (?:the )?(?:number of )?(?:unexpired|remaining|unused|days|months)"
        # a formula: "x (days remaining / total days)", "unexpired days divided by the total ..."
        r"|(?:(?:unexpired|remaining|unused) (?:days|months)|(?:days|months) (?:remaining|unexpired))"
        r"(?: [a-z]+){0,4} ?(?:/|\u00f7|divided by|over) ?(?:the )?(?:total|full|original)"
    ), 2.5),
    ("actuarial", re.compile(r"actuarial(?:ly)?\b"), 3.0),
)
# "ninety percent (90%) of the pro rata refund" is a short-rate rule; the pro rata amount is
# only its base. Anchored at the end so it is tried just before a pro rata mention.
_PERCENT_OF_PRO_RATA = re.compile(
    r"(?:\d{1,2} ?%|\d{1,2} percent|[a-z]+(?:-[a-z]+)? percent(?: \(\d{1,2} ?%\))?) of (?:the )?"
    r"(?:[\w'-]+ ){0,8}?pro[- ]?rata$"
)
# A negation before a mention with no clause break in between ("not by the Rule of 78",
# "rather than ...", "Neither the Rule of 78 nor any short-rate table"), or after it
# ("The Rule of 78s will not be used").
_NEGATION_BEFORE = re.compile(
    r"\b(?:not|never|neither|nor|no longer|rather than|instead of|in lieu of|other than|unlike)\b"
)
_CLAUSE_BREAK = re.compile(r"[,;:()]| but | and | however ")
_NEGATION_AFTER = re.compile(
    r"[^,;:.]{0,30}?\b(?:will|shall|does|do|is|are|may|must|can|would)(?: not|n't) (?:be )?"
    r"(?:used|utilized|employed|applied|apply|applies)\b"
)
_NEGATION_REACH = 35
# A method that applies only under a condition ("unless state law requires pro rata").
_CONDITION_BEFORE = re.compile(
    r"\b(?:unless|except|if required|where required|when required|(?:if|where|when) (?:state |applicable )?law)\b"
)
_REFUND_CONTEXT = re.compile(r"\brefund|unearned|rebate|returned|\breturn of|\bcancel|terminat|\bcredit")
_LOAN_CHARGE = re.compile(r"finance charges?|\binterest\b|prepay")


def _is_negated(doc: _Doc, start: int, end: int, sentence: tuple[int, int]) -> bool:
    before = doc.norm[max(sentence[0], start - _NEGATION_REACH):start]
    breaks = list(_CLAUSE_BREAK.finditer(before))
    if breaks:
        before = before[breaks[-1].end():]
    if _NEGATION_BEFORE.search(before):
        return True
    return bool(_NEGATION_AFTER.match(doc.norm, end, min(sentence[1], end + 60)))


def _method_mentions(doc: _Doc) -> Iterator[tuple[str, float, int, int]]:
    for method, pattern, weight in _METHOD_PATTERNS:
        for match in _scan(pattern, doc.norm):
            start = match.start()
            if method == "pro_rata" and ("%" in doc.norm or "percent" in doc.norm):
                context_start, _ = doc.context(start)
                percent = _PERCENT_OF_PRO_RATA.search(doc.norm, max(context_start, start - 120), match.end())
                if percent:
                    yield "short_rate", weight, percent.start(), match.end()
                    continue
            yield method, weight, start, match.end()


def _method_candidates(doc: _Doc) -> list[_Candidate]:
    candidates: list[_Candidate] = []
    for method, weight, start, end in _method_mentions(doc):
        sentence = doc.sentences[doc.sentence_index(start)]
        if _is_negated(doc, start, end, sentence):
            continue
        text = doc.context_text(start)
        score = weight + doc.adjustment(start)
        if _CONDITION_BEFORE.search(doc.norm, max(sentence[0], start - 50), start):
            score -= 1.5
        if _REFUND_CONTEXT.search(text):
            score += 1.0
        if _LOAN_CHARGE.search(doc.norm, sentence[0], start) and not _GAP_SUBJECT.search(text):
            score -= 2.5  # the loan's own rebate rule ("unearned finance charges ... Rule of 78s")
        candidates.append(_Candidate(method, score, start, end))
    return candidates


# --- Entry point -----------------------------------------------------------------------------

def extract_fields(text: str) -> dict[str, FieldValue]:
    """Extract premium, refund method and cancellation fee from a GAP contract's text.

    Returns one FieldValue per name in ``FIELD_NAMES``: a canonical value or None, a confidence
    in [0, 1], and the supporting passage as a verbatim slice ``text[start:end] == quote``.
    """
    doc = _build_doc(text or "")
    amounts = _find_amounts(doc.norm)
    premiums, fees = _score_amounts(doc, amounts)
    return {
        "gap_insurance_premium": _decide(doc, premiums, min_score=_PREMIUM_MIN_SCORE),
        "refund_calculation_method": _decide(doc, _method_candidates(doc), min_score=_METHOD_MIN_SCORE),
        "cancellation_fee": _decide(doc, fees + _no_fee_candidates(doc), min_score=_FEE_MIN_SCORE),
    }
