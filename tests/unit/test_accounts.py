import pytest

from pipeline.contracts.accounts import normalize_account_number


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("4350948342", "4350948342"), (" 4350-948-342 ", "4350948342"), ("4350 948 342", "4350948342"), (4350948342, "4350948342")],
)
def test_people_typing_spaces_and_dashes_get_the_digits(raw, expected):
    assert normalize_account_number(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [("", "empty"), ("  - ", "empty"), ("43509A8342", "only digits"), ("12345", "6 to 20"), ("1" * 21, "6 to 20"), (None, "string"), (True, "string"), ("４３５０９４８３４２", "only digits")],
)
def test_malformed_account_numbers_say_why(raw, reason):
    with pytest.raises(ValueError, match=reason):
        normalize_account_number(raw)
