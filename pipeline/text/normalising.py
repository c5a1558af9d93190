"""Typography folded to ASCII, one character for one (offsets into the original text still hold).

Contracts, OCR and providers write quotes and dashes many ways; the local extractor reads the
folded text, and grounding compares a provider's quote with the document after folding both.
"""

from __future__ import annotations

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
