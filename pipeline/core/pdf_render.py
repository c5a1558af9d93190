"""Render plain-text contracts (such as the demo GAP contracts) to simple PDFs.

The output is deterministic -- the same text and title always give the same
bytes -- so rendered demo files can be compared, cached or checked into
fixtures, and the text stays extractable (pypdf and similar) because only the
built-in Helvetica font is used.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timezone

from fpdf import FPDF
from fpdf.enums import XPos, YPos

__all__ = ["core_font_text", "render_text_pdf"]

# A fixed creation date: fpdf2 otherwise stamps the current time into the
# document info and the file ID, which would make every render different.
_CREATION_DATE = datetime(2024, 1, 1, tzinfo=timezone.utc)
_PAGE_COUNT_ALIAS = "{nb}"

# Core PDF fonts only cover Latin-1 in fpdf2, so typographic characters common
# in contract text are mapped to ASCII before rendering.
_ASCII_REPLACEMENTS = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
        "\u2015": "-", "\u2212": "-",
        "\u2026": "...", "\u2022": "*", "\u00b7": "*", "\u2122": "(TM)", "\u20ac": "EUR",
        # Non-breaking and odd-width spaces would survive as Latin-1 (U+00A0) or not at
        # all; plain spaces keep line wrapping and text extraction predictable.
        "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2007": " ", "\u2009": " ",
        "\u200a": " ", "\u202f": " ", "\u200b": "", "\ufeff": "", "\u00ad": "",
        "\t": "    ", "\f": "\n", "\v": "\n",
        # Letters outside Latin-1 that Unicode does not decompose into a base letter and a mark.
        "\u0141": "L", "\u0142": "l", "\u0110": "D", "\u0111": "d", "\u0126": "H", "\u0127": "h",
        "\u0131": "i", "\u0152": "OE", "\u0153": "oe", "\u0166": "T", "\u0167": "t", "\u0138": "k",
    }
)


def core_font_text(text: str) -> str:
    """Return ``text`` with every character encodable in Latin-1 (what Helvetica covers)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_ASCII_REPLACEMENTS)
    chars: list[str] = []
    for char in text:
        if char == "\n" or (char.isprintable() and ord(char) < 256):
            chars.append(char)
            continue
        if not char.isprintable():
            continue  # stray control characters carry no content
        # Accented letters outside Latin-1 (e.g. "\u0142") keep their base letter.
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        chars.append(base if base and all(ord(c) < 256 for c in base) else "?")
    return "".join(chars)


class _ContractPDF(FPDF):
    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", style="I", size=8)
        self.cell(0, 10, f"Page {self.page_no()} of {_PAGE_COUNT_ALIAS}", align="C")


def render_text_pdf(text: str, *, title: str) -> bytes:
    """Render ``text`` as a Letter-size PDF with a bold ``title`` line and page numbers.

    Line breaks in ``text`` are kept and long lines are wrapped at word
    boundaries. Characters Helvetica cannot show are replaced with ASCII
    equivalents (curly quotes, dashes) or "?". Identical input gives identical
    bytes.
    """
    safe_title = core_font_text(title)
    body = core_font_text(text)

    pdf = _ContractPDF(orientation="portrait", unit="mm", format="Letter")
    pdf.set_creation_date(_CREATION_DATE)
    pdf.set_title(safe_title)
    pdf.set_margins(left=20, top=20, right=20)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.alias_nb_pages(_PAGE_COUNT_ALIAS)
    pdf.add_page()

    pdf.set_font("Helvetica", style="B", size=13)
    pdf.multi_cell(0, 7, safe_title, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)

    pdf.set_font("Helvetica", size=10)
    # Left-aligned rather than justified: justification stretches word spacing,
    # which makes some text extractors merge or split words.
    pdf.multi_cell(0, 5, body, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())
