"""Account numbers in a chat message ("look up 4350948342"), told apart from other numbers.

An account number is 6 to 20 digits, typed plain or in groups separated by spaces or dashes
("4350 948 342", "4350-948-342"), as :func:`pipeline.contracts.accounts.normalize_account_number` accepts.
Agents also type numbers that are not accounts, and looking one of those up would switch the
conversation to a stranger's contract, so these are left alone:

- dollar amounts: "$1,095.00", "1095.00", "1,095", "$795", "795 dollars";
- dates: "2023-04-15", "04/15/2023", "4-15-2023";
- phone numbers: "(555) 123-4567", "555-123-4567", "555.123.4567", "+1 555 123 4567";
- VINs (17 letters and digits: the digits inside one are not a number of their own), ZIP+4
  codes ("75201-1234"), social security numbers ("123-45-6789");
- numbers named by the words around them: "phone 5551234567", "120000 miles", "12 %".
"""

from __future__ import annotations

import re

from pipeline.contracts.accounts import MAX_LENGTH, MIN_LENGTH

# A run of digits with single separators between them, parentheses allowed (phone numbers).
_NUMBER = re.compile(r"\(?\d(?:\d|[ \-./,](?=\(?\d)|\((?=\d)|\)[ \-.]?(?=\d))*\)?")
_AMOUNT = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d{1,2}")
_DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.](?:\d{2}|\d{4})")
_PHONE = re.compile(r"(?:\+?1[ \-.]?)?(?:\(\d{3}\)|\d{3})[ \-.]?\d{3}[ \-.]\d{4}")
_ZIP4 = re.compile(r"\d{5}-\d{4}")
_SSN = re.compile(r"\d{3}-\d{2}-\d{4}")
_NOT_ACCOUNT_BEFORE = re.compile(
    r"(?:\$|usd|phone|tel|telephone|call|fax|cell|mobile|zip|zipcode|postal|vin|ssn|social security|routing|"
    r"extension|ext|miles|mileage|odometer|price|amount|balance|payment|dated?)\W{0,3}$",
    re.IGNORECASE,
)
_NOT_ACCOUNT_AFTER = re.compile(r"^\s*(?:%|percent\b|dollars?\b|usd\b|miles?\b|mi\b|km\b|months?\b|days?\b|years?\b)", re.IGNORECASE)
_GROUP_MAX = 6  # "4350 948 342": typed groups are short; "4350948342 60 months" is two numbers


def find_account_numbers(message: str) -> list[str]:
    """The account numbers in a message, normalised (digits only), in order, without repeats."""
    found: list[str] = []
    for start, end in _pieces(message):
        if start > 0 and message[start - 1].isalnum() or end < len(message) and message[end].isalnum():
            continue  # part of a word, a VIN or a code like "A1234567"
        if _NOT_ACCOUNT_BEFORE.search(message[max(0, start - 20):start]) or _NOT_ACCOUNT_AFTER.match(message[end:]):
            continue
        number = _account(message[start:end])
        if number is not None and number not in found:
            found.append(number)
    return found


def _pieces(message: str) -> list[tuple[int, int]]:
    """Spans of the number-like tokens; a run of space-separated numbers is one token only when
    every group is short, as typed groups are ("4350 948 342", not "4350948342 60")."""
    spans: list[tuple[int, int]] = []
    for match in _NUMBER.finditer(message):
        start, end = match.span()
        token = match.group()
        groups = token.split(" ")
        whole_phone = _PHONE.fullmatch(token) is not None
        if len(groups) > 1 and not whole_phone and any(len(group.replace("-", "")) > _GROUP_MAX for group in groups):
            offset = start
            for group in groups:
                if group:
                    spans.append((offset, offset + len(group)))
                offset += len(group) + 1
        else:
            spans.append((start, end))
    return spans


def _account(token: str) -> str | None:
    if _AMOUNT.fullmatch(token) or "," in token or re.search(r"\.\d{1,2}$", token):
        return None
    if _DATE.fullmatch(token) or _PHONE.fullmatch(token) or _ZIP4.fullmatch(token) or _SSN.fullmatch(token):
        return None
    if any(char in token for char in "./()"):
        return None  # versions, times, fractions, other formats: not how account numbers are typed
    digits = token.replace(" ", "").replace("-", "")
    return digits if MIN_LENGTH <= len(digits) <= MAX_LENGTH else None
