"""Portfolio quotes: a batch of cancellations through the API and the CLI, quoted on a real worker,
with the results as CSV."""

from __future__ import annotations

import csv
import io
import uuid

from sqlalchemy import select

from models import AuditEvent, Batch, Job, RefundQuote
from tests.support.auth import user_with_token
from tests.support.quotes import demo_contract as _contract, demo_extraction as _extraction
from tests.support.waiting import wait_for

BATCHES = "/api/v1/batches"


def _completed(client, batch_id, token=None):
    body = client.get(f"{BATCHES}/{batch_id}", as_token=token).get_json()
    return body if body["status"] == "completed" else None


def _book(session_factory):
    """Three contracts ready to quote (approved extractions) and one never extracted."""
    ready = []
    for index in (1, 2, 4):
        contract = _contract(session_factory, demo_index=index)
        _extraction(session_factory, contract)
        ready.append(contract)
    return ready, _contract(session_factory, demo_index=7)


def _rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_a_quote_batch_runs_on_a_worker_and_exports_one_row_per_cancellation(app, worker, session_factory):
    operator, token = user_with_token("operator")
    client = app.test_client()
    ready, unextracted = _book(session_factory)
    cancellations = [
        {"contract_id": str(ready[0].id), "cancellation_date": "2026-11-20", "reason": "payoff"},
        {"contract_id": str(ready[1].id), "cancellation_date": "2025-03-01", "reason": "trade_in"},
        {"contract_id": str(unextracted.id), "cancellation_date": "2026-01-15", "reason": "refinance"},
        {"contract_id": str(ready[2].id), "cancellation_date": "2026-02-01", "reason": "total_loss", "claim_paid": True},
    ]
    response = client.post(BATCHES, json={"kind": "refund_quote", "cancellations": cancellations}, as_token=token)
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert (body["kind"], body["total"], body["skipped"], body["status"]) == ("refund_quote", 4, 0, "running")
    batch_id = body["batch_id"]

    done = wait_for(lambda: _completed(client, batch_id, token), timeout=120, what="the quote batch")
    assert (done["succeeded"], done["failed"]) == (3, 1)
    assert [f["contract_id"] for f in done["failures"]] == [str(unextracted.id)]
    assert "has no extraction yet: extract it first" in done["failures"][0]["error"]

    export = client.get(f"{BATCHES}/{batch_id}/quotes.csv", as_token=token)
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert export.headers["Content-Disposition"] == f'attachment; filename="refund-quotes-{batch_id}.csv"'
    rows = _rows(export.get_data(as_text=True))
    assert [r["row"] for r in rows] == ["1", "2", "3", "4"]
    assert [r["contract_id"] for r in rows] == [c["contract_id"] for c in cancellations]
    assert [r["status"] for r in rows] == ["succeeded", "succeeded", "failed", "succeeded"]
    assert rows[2]["quote_id"] == "" and "extract it first" in rows[2]["error"]
    assert (rows[3]["eligible"], rows[3]["reason_code"], rows[3]["refund"]) == ("false", "claim_paid", "0.00")
    for row in (rows[0], rows[1], rows[3]):
        quote = client.get(f"/api/v1/refund-quotes/{row['quote_id']}").get_json()  # the default admin reads it
        assert (row["refund"], row["gross_refund"], row["fee_applied"], row["reason_code"]) == (
            quote["refund"], quote["gross_refund"], quote["fee_applied"], quote["reason_code"])
        assert quote["origin"] == "batch" and quote["requested_by"] == str(operator.id)
        assert row["cancellation_date"] == quote["cancellation_date"] and row["account_number"]

    with session_factory() as session:
        quotes = session.scalars(select(RefundQuote)).all()
        jobs = session.scalars(select(Job).where(Job.batch_id == uuid.UUID(batch_id))).all()
        events = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "refund_quote")).all()
    assert len(quotes) == 3 and {q.job_id for q in quotes} <= {j.id for j in jobs}
    assert {j.kind for j in jobs} == {"refund_quote"} and {j.queue for j in jobs} == {"bulk"}
    assert len(events) == 3 and {e.user_id for e in events} == {operator.id}
    assert {e.event_data["origin"] for e in events} == {"batch"}


def test_bad_quote_batches_are_422_listing_the_rows_and_write_nothing(client, session_factory):
    ready, _ = _book(session_factory)
    ghost = str(uuid.uuid4())
    good = {"contract_id": str(ready[0].id), "cancellation_date": "2026-11-20", "reason": "payoff"}
    cases = [
        {"kind": "refund_quote"},
        {"kind": "refund_quote", "cancellations": []},
        {"kind": "refund_quote", "cancellations": [good], "contract_ids": [str(ready[0].id)]},
        {"cancellations": [good]},
        {"kind": "refund_quote", "cancellations": [{**good, "reason": "bored"}]},
        {"kind": "refund_quote", "cancellations": [{**good, "cancellation_date": "2026-02-30"}]},
        {"kind": "refund_quote", "cancellations": [{**good, "contract_id": "nope"}]},
        {"kind": "quotes", "cancellations": [good]},
    ]
    for body in cases:
        response = client.post(BATCHES, json=body)
        assert response.status_code == 422, (body, response.get_json())
    unknown = client.post(BATCHES, json={"kind": "refund_quote", "cancellations": [good, {**good, "contract_id": ghost}, {**good, "contract_id": ghost}]})
    body = unknown.get_json()
    assert unknown.status_code == 422 and body["details"]["bad_count"] == 2
    assert body["details"]["rows"] == [{"row": 2, "problem": f"contract {ghost} does not exist"},
                                       {"row": 3, "problem": f"contract {ghost} does not exist"}]
    with session_factory() as session:
        assert session.scalars(select(Batch)).all() == [] and session.scalars(select(Job)).all() == []


def test_quotes_csv_is_for_operators_and_for_quote_batches_only(client, session_factory):
    from tests.support.fleet import insert_contracts

    ids = insert_contracts(session_factory, 2)
    extraction_batch = client.post(BATCHES, json={"contract_ids": [str(i) for i in ids]}).get_json()["batch_id"]
    assert client.get(f"{BATCHES}/{extraction_batch}/quotes.csv").status_code == 404
    assert client.get(f"{BATCHES}/{uuid.uuid4()}/quotes.csv").status_code == 404
    assert client.get(f"{BATCHES}/nope/quotes.csv").status_code == 422
    _agent, token = user_with_token("agent")
    assert client.get(f"{BATCHES}/{extraction_batch}/quotes.csv", as_token=token).status_code == 403


def test_cli_quotes_a_csv_by_account_number_or_id_and_writes_the_results(app, worker, session_factory, tmp_path):
    ready, _ = _book(session_factory)
    listing = tmp_path / "cancellations.csv"
    listing.write_text(
        "account_number,contract_id,cancellation_date,reason,claim_paid\n"
        f"{ready[0].account_number[:4]}-{ready[0].account_number[4:]},,2026-11-20,payoff,\n"
        f",{ready[1].id},2025-03-01,trade_in,false\n"
        "\n"
        f"{ready[2].account_number},,2026-02-01,repossession,no\n"
    )
    output = tmp_path / "results.csv"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["batch", "quote", str(listing), "--output", str(output), "--interval", "0.2", "--timeout", "120"])
    assert result.exit_code == 0, result.output
    assert "3 refund-quote jobs on the bulk queue" in result.output and "3 succeeded, 0 failed" in result.output
    rows = _rows(output.read_text())
    assert [r["account_number"] for r in rows] == [c.account_number for c in ready]
    assert [r["row"] for r in rows] == ["2", "3", "5"]  # lines of the file
    assert all(r["status"] == "succeeded" and r["quote_id"] and r["refund"] for r in rows)
    assert any("repossession" in r["warnings"] for r in rows)
    with session_factory() as session:
        assert {str(q.id) for q in session.scalars(select(RefundQuote))} == {r["quote_id"] for r in rows}


def test_cli_refuses_a_file_with_bad_lines_listing_each(app, session_factory, tmp_path):
    ready, _ = _book(session_factory)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "contract_id,cancellation_date,reason\n"
        f"{ready[0].id},2026-11-20,payoff\n"
        f"{uuid.uuid4()},2026-11-20,payoff\n"
        f"{ready[1].id},20/11/2026,payoff\n"
        f"{ready[1].id},2026-11-20,bored\n"
    )
    runner = app.test_cli_runner()
    result = runner.invoke(args=["batch", "quote", str(bad)])
    assert result.exit_code == 2
    assert "line 4: cancellation_date '20/11/2026' is not a date" in result.output
    assert "line 5: reason 'bored' is not one of" in result.output
    # Every line parses except those two: the unknown contract is only found once they are fixed.
    bad.write_text(f"contract_id,cancellation_date,reason\n{uuid.uuid4()},2026-11-20,payoff\n")
    result = runner.invoke(args=["batch", "quote", str(bad)])
    assert result.exit_code == 2 and "does not exist" in result.output
    headless = tmp_path / "headless.csv"
    headless.write_text("id,date\n1,2\n")
    result = runner.invoke(args=["batch", "quote", str(headless)])
    assert result.exit_code == 2 and "the header needs contract_id or account_number, cancellation_date, reason" in result.output
    assert runner.invoke(args=["batch", "quote", str(tmp_path / "missing.csv")]).exit_code == 2
    with session_factory() as session:
        assert session.scalars(select(Batch)).all() == []
