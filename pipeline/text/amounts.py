"""Money amounts in a contract's normalised text: "$795.00", "$ 1,095", "USD 795", "795.00
dollars", bare "1,095.00" in tables, and amounts in words ("fifty dollars", "Seven Hundred
Forty-Nine and 00/100 Dollars"); "fifty dollars ($50.00)" is one amount. Used by the local
extractor and by grounding (does a quote contain the amount it supports?).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from pipeline.text.normalising import normalise


def scan(pattern: re.Pattern[str], norm: str, start: int = 0, end: int | None = None) -> Iterator[re.Match[str]]:
    """Matches of ``pattern`` that begin a word ("late" but not the end of "calculate")."""
    for match in pattern.finditer(norm, start, len(norm) if end is None else end):
        before = norm[match.start() - 1] if match.start() else " "
        if not (before.isalnum() or before == "_"):
            yield match


@dataclass(frozen=True)
class Amount:
    start: int  # span in norm
    end: int
    value: Decimal


_CENT = Decimal("0.01")
_NUM = r"\d(?:\d{0,2}(?:,\d{3})+|\d*)(?:\.\d{2})?"
_NUM_END = r"(?!\d)(?!,\d)(?!\.\d)"  # a whole number: "$50" is not the start of "$50,000"
_PREFIXED = re.compile(rf"(?:\$|us\$|usd) ?(?P<num>{_NUM}){_NUM_END}")
_SUFFIXED = re.compile(rf"(?P<num>{_NUM}){_NUM_END}\)? ?(?:dollars|usd)\b")
# Table cells often drop the currency sign; only accept those with cents, so years, mileage
# and counts stay out, and never a rate ("6.74%").
_BARE = re.compile(rf"(?P<num>\d(?:\d{{0,2}}(?:,\d{{3}})+|\d*)\.\d{{2}}){_NUM_END}(?! ?(?:%|percent))")

_UNITS = {
    word: value
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_TENS = {word: 10 * (i + 2) for i, word in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
# Longest first, so "seventeen" is not read as "seven" and a stray "teen".
_NUMBER_WORD = "|".join(sorted([*_UNITS, *_TENS, "hundred", "thousand"], key=len, reverse=True))
_WORDS = re.compile(
    rf"(?:{_NUMBER_WORD})(?:(?: |-| and |)(?:{_NUMBER_WORD}))*\b"
    r"(?: and (?P<cents>\d{1,2})/100)?(?P<tail> (?:u\.s\. )?dollars?\b| ?\()?"
)
_NUMBER_TOKEN = re.compile(rf"{_NUMBER_WORD}|and")  # also splits "seventyfive" (a hyphen lost to OCR)
_WORDS_REACH = 160  # the longest amount in words we read ("seven hundred ... and 00/100")


def _words_value(words: str) -> int:
    """Value of "seven hundred forty-nine" (0..999,999); ``words`` is a match of ``_WORDS``."""
    total = current = 0
    for word in _NUMBER_TOKEN.findall(words):
        if word == "and":
            continue
        if word in _UNITS:
            current += _UNITS[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word == "hundred":
            current = (current or 1) * 100
        elif word == "thousand":
            total += (current or 1) * 1000
            current = 0
    return total + current


def _numeric_amounts(norm: str) -> list[Amount]:
    found: list[Amount] = []
    for pattern in (_PREFIXED, _SUFFIXED, _BARE):
        for match in scan(pattern, norm):
            if pattern is not _PREFIXED and norm[match.start() - 1 : match.start()] in (",", ".", "$"):
                continue  # the tail of a longer number, or a currency amount read twice
            value = Decimal(match.group("num").replace(",", "")).quantize(_CENT)
            found.append(Amount(match.start(), match.end(), value))
    return _without_overlaps(found)


def find_amounts(norm: str) -> list[Amount]:
    numeric = _numeric_amounts(norm)
    starts = [amount.start for amount in numeric]
    amounts = {amount.start: amount for amount in numeric}
    for match in _words_matches(norm, numeric):
        tail = match.group("tail")
        if not tail:
            continue  # "thirty days", "rule of seventy-eight": a number, not money
        words_end = match.start("cents") - len(" and ") if match.group("cents") else match.start("tail")
        value = _words_value(norm[match.start():words_end])
        # "fifty dollars ($50.00)", "... and 00/100 Dollars ($749.00)", "fifty ($50)": one amount,
        # whose value the digits give.
        index = bisect.bisect_left(starts, match.end() - 1)
        following = numeric[index] if index < len(numeric) else None
        if following and norm[match.end():following.start].strip() in ("", "(") and following.start - match.end() <= 2:
            amounts.pop(following.start, None)
            end = following.end + (1 if norm.startswith(")", following.end) else 0)
            amounts[match.start()] = Amount(match.start(), end, following.value)
        elif "dollar" in tail:
            cents = Decimal(match.group("cents") or 0) / 100
            amounts[match.start()] = Amount(match.start(), match.end(), (value + cents).quantize(_CENT))
    return _without_overlaps(amounts.values())


def _words_matches(norm: str, numeric: list[Amount]) -> list[re.Match[str]]:
    """Number-word phrases ending at "dollars" or just before "($...)"; only those windows are read."""
    anchors = [m.start() for m in re.finditer("dollar", norm)]
    anchors += [a.start for a in numeric if norm[max(a.start - 2, 0):a.start].strip() == "("]
    windows: list[tuple[int, int]] = []
    for anchor in sorted(anchors):
        lo, hi = max(anchor - _WORDS_REACH, 0), anchor + len("dollars")
        if windows and lo <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(windows[-1][1], hi))
        else:
            windows.append((lo, hi))
    return [match for lo, hi in windows for match in scan(_WORDS, norm, lo, hi)]


def _without_overlaps(amounts: Iterable[Amount]) -> list[Amount]:
    kept: list[Amount] = []
    for amount in sorted(amounts, key=lambda a: (a.start, -(a.end - a.start))):
        if kept and amount.start < kept[-1].end:
            continue  # the earlier, longer reading wins
        kept.append(amount)
    return kept


def amounts_in(text: str) -> list[Decimal]:
    """Every money amount stated in a passage, in digits or in words ("fifty dollars ($50)")."""
    return [amount.value for amount in find_amounts(normalise(text).norm)]
