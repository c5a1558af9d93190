"""Account numbers in chat messages, and the numbers that must not be taken for one."""

import pytest

from pipeline.chat.accounts import find_account_numbers


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("look up 4350948342", ["4350948342"]),
        ("Look up account 4350-948-342 please", ["4350948342"]),
        ("acct # 4350 948 342", ["4350948342"]),
        ("switch to 1187203564, what is the fee?", ["1187203564"]),
        ("4350948342 60 months", ["4350948342"]),
        ("compare 4350948342 and 1187203564", ["4350948342", "1187203564"]),
        ("4350948342 again: 4350948342", ["4350948342"]),
        ("account 123456", ["123456"]),
        ("account 12345678901234567890", ["12345678901234567890"]),
    ],
)
def test_account_numbers_are_found_and_normalised(message, expected):
    assert find_account_numbers(message) == expected


@pytest.mark.parametrize(
    "message",
    [
        # dollar amounts
        "Is the premium $1,095.00?", "the refund was 1095.00", "a balance of 1,095,000", "$795", "$ 1095000",
        "they paid 109500.00 in total", "1095000 dollars", "USD 2500000",
        # dates
        "signed on 2023-04-15", "signed 04/15/2023", "effective 4-15-2023", "date 20230415",
        # phone numbers
        "call (555) 123-4567", "call 555-123-4567", "555.123.4567", "+1 555 123 4567", "1-800-555-0199",
        "phone 5551234567",
        # VINs, ZIP codes, social security numbers, units
        "VIN 1HGCM82633A004352", "4T1G11AK4NU624817", "zip 75201", "75201-1234", "SSN 123-45-6789",
        "120000 miles on it", "rate 5.89%", "12.5",
        # too short or too long
        "12345", "123456789012345678901",
    ],
)
def test_numbers_that_are_not_account_numbers_are_ignored(message):
    assert find_account_numbers(message) == []
