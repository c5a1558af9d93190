"""Typography folded to ASCII, one character for one, and the normalised copy of a contract's
text that matching runs on (lower case, one space per whitespace run, OCR line-break hyphens
joined, "debt cancellation" one token), with a map back to the original offsets.

Contracts, OCR and providers write quotes and dashes many ways; the local extractor reads the
folded text, and grounding compares a provider's quote with the document after folding both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FOLD = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
        "\u00a0": " ",
    }
)


def fold(text: str) -> str:
    """``text`` with typographic quotes, dashes and no-break spaces as their ASCII forms."""
    return text.translate(FOLD)


@dataclass(frozen=True)
class Normalised:
    norm: str  # folded, lower-cased, single-spaced copy that all matching runs on
    chunk_norm: list[int]  # norm start of each run of characters copied unchanged ...
    chunk_orig: list[int]  # ... and where that run starts in the original
    breaks: set[int]  # norm positions of blank lines (they end a sentence)


# Whitespace, or a word hyphenated across a line break by OCR ("cancel-\nlation"), which is
# joined back; compound words broken there lose their hyphen, so method patterns allow that.
_GAP_RUN = re.compile(r"(?<=[a-z][a-z])-[^\S\n]*\n\s*(?=[a-z])|\s+")
_BLANK_LINE = re.compile(r"[^\S\n]*\n[^\S\n]*\n\s*")
_DEBT_CANCELLATION = re.compile(r"debt[ -]?cancel")
# "Total GAP Cost (incl. tax): $832.50" is a price, not a tax line: tie the qualifier to its
# word ("incl._tax") so the "tax" label, which must start a word, does not fire.
_TAX_QUALIFIER = re.compile(r"\b(incl\.?|including|includes|plus|with)( (?:sales |state )?)(tax)")


def normalise(text: str) -> Normalised:
    """The copy of ``text`` that matching runs on, with the map back to the original's offsets."""
    folded = fold(text)
    lowered = folded.lower()
    if len(lowered) != len(folded):
        # A few characters grow when lower-cased ("İ"); keep those as they are so offsets stay 1:1.
        lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in folded)
    lead = len(lowered) - len(lowered.lstrip())
    body = lowered.strip()
    blank_lines = {m.start() for m in _BLANK_LINE.finditer(body)}

    chunk_norm, chunk_orig, breaks = [0], [lead], set()
    removed = 0  # characters dropped so far by collapsing whitespace
    for match in _GAP_RUN.finditer(body):
        start, end = match.span()
        if start in blank_lines:
            breaks.add(start - removed)  # a blank line ends a sentence even without punctuation
        removed += end - start - (0 if body[start] == "-" else 1)
        chunk_norm.append(end - removed)
        chunk_orig.append(end + lead)
    norm = _GAP_RUN.sub(lambda m: "" if m.group().startswith("-") else " ", body)
    # One token, same length, so the fee cues' word-boundary check skips it.
    norm = _DEBT_CANCELLATION.sub("debt_cancel", norm)
    norm = _TAX_QUALIFIER.sub(lambda m: m.group(1) + m.group(2).replace(" ", "_") + m.group(3), norm)
    return Normalised(norm=norm, chunk_norm=chunk_norm, chunk_orig=chunk_orig, breaks=breaks)
