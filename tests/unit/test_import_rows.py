import io
from datetime import date

import pytest

from pipeline.contracts.importer import RowError, parse_row, read_jsonl

GOOD = {
    "account_number": "4350-948-342",
    "customer_name": " Maria Lopez ",
    "dealer": "Sunrise Toyota",
    "lender": "First Auto Credit",
    "vehicle": {"year": 2022, "make": "Toyota", "model": "Camry", "vin": "4t1b11hk5ju123456"},
    "contract_start_date": "2023-04-15",
    "term_months": 60,
    "state": "tx",
    "document_text": "GAP WAIVER ...",
    "pdf_path": "GAP-4350948342.pdf",
}


def test_a_good_row_is_normalised():
    values = parse_row(GOOD)
    assert values["account_number"] == "4350948342"
    assert values["customer_name"] == "Maria Lopez"
    assert values["state"] == "TX"
    assert values["contract_start_date"] == date(2023, 4, 15)
    assert values["vehicle"]["vin"] == "4T1B11HK5JU123456"


def test_vehicle_may_be_a_plain_string_and_pdf_may_be_on_s3():
    values = parse_row({**GOOD, "vehicle": "2021 Honda Civic", "pdf_path": "s3://contracts/2023/GAP-1.pdf"})
    assert values["vehicle"] == {"description": "2021 Honda Civic"}
    assert (values["s3_bucket"], values["s3_key"], values["pdf_path"]) == ("contracts", "2023/GAP-1.pdf", None)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"account_number": None}, "account_number is required"),
        ({"customer_name": ""}, "customer_name is required"),
        ({"account_number": "12-AB"}, "only digits"),
        ({"contract_start_date": "15/04/2023"}, "contract_start_date"),
        ({"term_months": 0}, "term_months"),
        ({"term_months": "60"}, "term_months"),
        ({"state": "ZZ"}, "not a US state"),
        ({"vehicle": {"year": 1800}}, "vehicle.year"),
        ({"vehicle": {"vin": "SHORT"}}, "vehicle.vin"),
        ({"vehicle": {"colour": "red"}}, "unknown keys"),
        ({"pdf_path": "../etc/passwd"}, "relative"),
        ({"s3_bucket": "b"}, "s3_key"),
        ({"document_text": 42}, "document_text"),
        ({"acount_number": "1"}, "unknown fields: acount_number"),
    ],
)
def test_bad_rows_are_rejected_with_a_reason(change, reason):
    row = {**GOOD, **change}
    with pytest.raises(RowError, match=reason):
        parse_row(row)


def test_a_line_that_is_not_json_becomes_a_row_error():
    rows = list(read_jsonl(io.StringIO('{"a": 1}\n\n{oops\n')))
    assert rows[0] == (1, {"a": 1})
    assert rows[1][0] == 3 and isinstance(rows[1][1], RowError)
