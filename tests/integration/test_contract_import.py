"""`flask contracts import` and `flask seed` against PostgreSQL: idempotent, with reasons."""

import json

import pytest
from sqlalchemy import func, select

from models import AuditEvent, Contract, User


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def _write(path, rows):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


GOOD = [
    {"account_number": "4350948342", "customer_name": "Maria Lopez", "state": "TX", "term_months": 60,
     "contract_start_date": "2023-04-15", "vehicle": "2022 Toyota Camry", "document_text": "GAP charge $795.00"},
    {"account_number": "1234-5678-90", "customer_name": "Sam Ortiz", "pdf_path": "s3://contracts/GAP-1234567890.pdf"},
]


def _count(session_factory, model=Contract):
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_import_is_idempotent(runner, tmp_path, session_factory):
    path = _write(tmp_path / "c.jsonl", GOOD)
    first = runner.invoke(args=["contracts", "import", str(path)])
    assert first.exit_code == 0, first.output
    assert "2 rows: 2 inserted, 0 updated, 0 unchanged, 0 rejected" in first.output
    second = runner.invoke(args=["contracts", "import", str(path)])
    assert second.exit_code == 0
    assert "2 rows: 0 inserted, 0 updated, 2 unchanged, 0 rejected" in second.output
    assert _count(session_factory) == 2
    with session_factory() as session:
        contract = session.scalars(select(Contract).where(Contract.account_number == "1234567890")).one()
        assert (contract.s3_bucket, contract.s3_key) == ("contracts", "GAP-1234567890.pdf")
        assert contract.text_status == "pending"
        # Only the run that changed something is audited.
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.event_type == "import")) == 1


def test_changed_rows_are_updated(runner, tmp_path, session_factory):
    runner.invoke(args=["contracts", "import", str(_write(tmp_path / "a.jsonl", GOOD))])
    changed = [dict(GOOD[0], customer_name="Maria Lopez-Garcia"), GOOD[1]]
    result = runner.invoke(args=["contracts", "import", str(_write(tmp_path / "b.jsonl", changed))])
    assert "0 inserted, 1 updated, 1 unchanged" in result.output
    with session_factory() as session:
        names = set(session.scalars(select(Contract.customer_name)))
    assert names == {"Maria Lopez-Garcia", "Sam Ortiz"}


def test_bad_rows_are_rejected_with_reasons_and_good_ones_kept(runner, tmp_path, session_factory):
    rows = [
        GOOD[0],
        "{not json",
        {"customer_name": "No Number"},
        {"account_number": "4350948342", "customer_name": "Duplicate In File"},
        {"account_number": "99887766", "customer_name": "Bad Date", "contract_start_date": "April 1"},
        {"account_number": "55443322", "customer_name": "Typo", "stat": "TX"},
    ]
    result = runner.invoke(args=["contracts", "import", str(_write(tmp_path / "bad.jsonl", rows))])
    assert result.exit_code == 1
    assert "6 rows: 1 inserted, 0 updated, 0 unchanged, 5 rejected" in result.output
    assert "line 2: not valid JSON" in result.output
    assert "line 3: account_number is required" in result.output
    assert "line 4 (account 4350948342): account number repeats line 1" in result.output
    assert "line 5 (account 99887766): contract_start_date must be a date" in result.output
    assert "line 6 (account 55443322): unknown fields: stat" in result.output
    assert _count(session_factory) == 1


def test_missing_file_exits_2(runner, tmp_path):
    result = runner.invoke(args=["contracts", "import", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2
    assert "cannot read" in result.output


def test_import_writes_in_chunks(runner, tmp_path, session_factory):
    rows = [{"account_number": f"{7000000000 + i}", "customer_name": f"Customer {i}"} for i in range(25)]
    result = runner.invoke(args=["contracts", "import", "--chunk-size", "10", str(_write(tmp_path / "many.jsonl", rows))])
    assert "25 inserted" in result.output
    assert _count(session_factory) == 25


def test_seed_twice_changes_nothing(runner, session_factory, settings):
    from pathlib import Path

    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    assert "20 inserted" in first.output and "admin user created" in first.output
    with session_factory() as session:
        before = {(c.account_number, c.updated_at) for c in session.scalars(select(Contract))}
        users = session.scalars(select(User)).all()
    assert len(before) == 20
    assert [(u.username, u.role) for u in users] == [("admin", "admin")]
    pdfs = sorted(Path(settings.pdf_dir).glob("GAP-*.pdf"))
    assert len(pdfs) == 20 and all(p.read_bytes().startswith(b"%PDF") for p in pdfs)

    second = runner.invoke(args=["seed"])
    assert "0 inserted, 0 updated, 20 unchanged; PDFs written: 0; admin user already present" in second.output
    with session_factory() as session:
        after = {(c.account_number, c.updated_at) for c in session.scalars(select(Contract))}
    assert after == before
    assert _count(session_factory, User) == 1
