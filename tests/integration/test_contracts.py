"""Contracts API against PostgreSQL, Redis, a loopback contract system and moto's S3 server."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import event, select

from api import create_app
from models import AuditEvent, Contract, Extraction, Job
from pipeline.core import db
from pipeline.core.cache import get_cache, lookup_counts
from tests.support.http_source import FakeContractSystem
from tests.support.s3 import LoopbackS3

SEARCH = "/api/v1/contracts/search"


def _add_contract(session_factory, number="4350948342", **values):
    with session_factory() as session:
        contract = Contract(account_number=number, customer_name=values.pop("customer_name", "Maria Lopez"), **values)
        session.add(contract)
        session.commit()
        return contract


def _audit(session_factory, event_type):
    with session_factory() as session:
        return session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type).order_by(AuditEvent.id)).all()


class StatementCounter:
    """Counts SQL statements that read the contracts table, in this process."""

    def __init__(self, engine):
        self.engine = engine
        self.statements: list[str] = []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, *args):
        self.statements.append(statement)

    def reads_of(self, table):
        return [s for s in self.statements if s.lstrip().upper().startswith("SELECT") and f"FROM {table}" in s]


# --- search -----------------------------------------------------------------------------------


def test_search_finds_a_contract_and_audits_it(client, session_factory):
    contract = _add_contract(session_factory, document_text="GAP charge $795.00", text_status="available")
    response = client.post(SEARCH, json={"account_number": " 4350-948-342 "})
    assert response.status_code == 200
    body = response.get_json()
    assert body["contract_id"] == str(contract.id)
    assert body["account_number"] == "4350948342"
    assert body["extraction_status"] == "none" and body["extraction"] is None
    assert response.headers["X-Cache"] == "miss"
    [audit] = _audit(session_factory, "search")
    assert audit.contract_id == contract.id
    assert audit.event_data == {"account_number": "4350948342", "outcome": "found", "via": "database"}
    assert audit.request_id == response.headers["X-Request-ID"]


def test_second_search_comes_from_the_cache_without_touching_contracts_or_the_source(app, client, session_factory, settings):
    _add_contract(session_factory)
    with FakeContractSystem() as system:
        cached_app = create_app(settings.replace(external_rdb_api_url=system.url))
        cached_client = cached_app.test_client()
        first = cached_client.post(SEARCH, json={"account_number": "4350948342"})
        assert first.headers["X-Cache"] == "miss"
        with StatementCounter(db.engine(settings)) as counter:
            second = cached_client.post(SEARCH, json={"account_number": "4350948342"})
        assert second.status_code == 200 and second.headers["X-Cache"] == "hit"
        assert second.get_json() == first.get_json()
        assert counter.reads_of("contracts") == []
        assert system.requests == []
    assert [a.event_data["via"] for a in _audit(session_factory, "search")] == ["database", "cache"]
    assert lookup_counts(get_cache(settings), "contract") == {"hit": 1, "miss": 1}


def test_unknown_account_is_404_and_audited(client, session_factory):
    response = client.post(SEARCH, json={"account_number": "1111111111"})
    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"
    assert "1111111111" in response.get_json()["message"]
    [audit] = _audit(session_factory, "search")
    assert audit.event_data["outcome"] == "not_found" and audit.contract_id is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"account_number": "43509A8342"}, "only digits"),
        ({"account_number": "123"}, "6 to 20 digits"),
        ({"account_number": ""}, "empty"),
        ({"account_number": 12.5}, "string of digits"),
        ({}, "Missing data"),
        ({"account_number": "4350948342", "extra": 1}, "Unknown field"),
    ],
)
def test_malformed_account_number_is_422(client, session_factory, body, message):
    response = client.post(SEARCH, json=body)
    assert response.status_code == 422
    assert message in response.get_json()["message"]
    assert _audit(session_factory, "search") == []


def test_a_contract_only_the_external_system_knows_is_stored(client, session_factory, settings):
    with FakeContractSystem() as system:
        system.records["5550001111"] = {
            "account_number": "5550001111", "customer_name": "Dana Whitfield", "state": "OH",
            "document_text": "GAP Waiver. Charge: $650.00", "pdf_path": "s3://lender-docs/5550001111.pdf",
        }
        external = create_app(settings.replace(external_rdb_api_url=system.url)).test_client()
        response = external.post(SEARCH, json={"account_number": "555-000-1111"})
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["source"] == "external"
        assert system.requests == ["/contracts/5550001111"]
        # Known now: the database answers the next time (after the cache expires).
        get_cache(settings).delete("contract:account:5550001111")
        again = external.post(SEARCH, json={"account_number": "5550001111"})
        assert again.get_json()["contract_id"] == response.get_json()["contract_id"]
        assert len(system.requests) == 1
    with session_factory() as session:
        stored = session.scalars(select(Contract).where(Contract.account_number == "5550001111")).one()
    assert (stored.source, stored.s3_bucket, stored.text_status) == ("external", "lender-docs", "available")
    assert [a.event_data["via"] for a in _audit(session_factory, "search")] == ["external", "database"]


def test_external_system_errors_are_retried_then_mapped(client, session_factory, settings):
    with FakeContractSystem() as system:
        system.records["5550002222"] = {"account_number": "5550002222", "customer_name": "Lee Park"}
        flaky = create_app(settings.replace(external_rdb_api_url=system.url, external_rdb_retries=2)).test_client()
        system.fail_next = 2
        assert flaky.post(SEARCH, json={"account_number": "5550002222"}).status_code == 200
        assert len(system.requests) == 3

        system.fail_next = 10
        down = flaky.post(SEARCH, json={"account_number": "5550003333"})
        assert down.status_code == 502
        assert down.get_json()["code"] == "upstream_error"

        system.fail_next = 0
        system.garbage = True
        garbage = flaky.post(SEARCH, json={"account_number": "5550004444"})
        assert garbage.status_code == 502 and "not JSON" in garbage.get_json()["message"]
    outcomes = [a.event_data["outcome"] for a in _audit(session_factory, "search")]
    assert outcomes == ["found", "source_error", "source_error"]


def test_slow_external_system_is_504(client, settings):
    with FakeContractSystem() as system:
        system.delay = 3
        slow = create_app(settings.replace(external_rdb_api_url=system.url, external_rdb_timeout=1, external_rdb_retries=0)).test_client()
        response = slow.post(SEARCH, json={"account_number": "5550005555"})
    assert response.status_code == 504
    assert response.get_json()["code"] == "upstream_timeout"


def test_unreachable_external_system_is_502(client, settings):
    gone = create_app(settings.replace(external_rdb_api_url="http://127.0.0.1:9/contracts", external_rdb_retries=0)).test_client()
    response = gone.post(SEARCH, json={"account_number": "5550006666"})
    assert response.status_code == 502
    assert "unreachable" in response.get_json()["message"]


def test_importing_a_change_invalidates_the_cached_search(app, client, session_factory, tmp_path):
    _add_contract(session_factory)
    assert client.post(SEARCH, json={"account_number": "4350948342"}).get_json()["customer_name"] == "Maria Lopez"
    assert client.post(SEARCH, json={"account_number": "4350948342"}).headers["X-Cache"] == "hit"
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"account_number": "4350948342", "customer_name": "Maria Lopez-Garcia"}) + "\n")
    assert app.test_cli_runner().invoke(args=["contracts", "import", str(path)]).exit_code == 0
    response = client.post(SEARCH, json={"account_number": "4350948342"})
    assert response.headers["X-Cache"] == "miss"
    assert response.get_json()["customer_name"] == "Maria Lopez-Garcia"


# --- read one ---------------------------------------------------------------------------------


def test_get_contract_in_each_extraction_state(client, session_factory):
    contract = _add_contract(session_factory, document_text="GAP premium $795.00")
    url = f"/api/v1/contracts/{contract.id}"

    body = client.get(url).get_json()
    assert (body["extraction_status"], body["extraction"], body["extraction_job"]) == ("none", None, None)
    assert body["document_text"] == "GAP premium $795.00"

    with session_factory() as session:
        job = Job(kind="extraction", contract_id=contract.id)
        session.add(job)
        session.commit()
    assert client.get(url).get_json()["extraction_job"] == {"job_id": str(job.id), "status": "queued"}

    with session_factory() as session:
        session.add(Extraction(contract_id=contract.id, gap_insurance_premium=795, refund_calculation_method="pro_rata"))
        session.commit()
    body = client.get(url).get_json()
    assert body["extraction_status"] == "pending"
    assert body["extraction"]["gap_insurance_premium"] == "795.00"
    assert body["extraction"]["cancellation_fee"] is None

    with session_factory() as session:
        extraction = session.scalars(select(Extraction)).one()
        extraction.status, extraction.approved_at = "approved", datetime.now(timezone.utc)
        session.commit()
    assert client.get(url).get_json()["extraction_status"] == "approved"
    views = _audit(session_factory, "view")
    assert len(views) == 4 and all(v.contract_id == contract.id for v in views)


def test_get_unknown_contract_is_404_and_malformed_id_422(client):
    assert client.get(f"/api/v1/contracts/{uuid.uuid4()}").status_code == 404
    response = client.get("/api/v1/contracts/not-a-uuid")
    assert response.status_code == 422
    assert response.get_json()["details"] == {"path": {"contract_id": ["Not a valid UUID."]}}


# --- PDF --------------------------------------------------------------------------------------

PDF = b"%PDF-1.4\n" + b"0123456789" * 500 + b"\n%%EOF\n"


@pytest.fixture(scope="module")
def s3_server():
    server = LoopbackS3()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def s3_app(settings, s3_server, clean_db, redis_client):
    client = s3_server.client()
    bucket = f"contracts-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key="2023/GAP-4350948342.pdf", Body=PDF, ContentType="application/pdf")
    app = create_app(settings.replace(s3_endpoint_url=s3_server.endpoint, s3_bucket=bucket))
    return app.test_client(), bucket


def test_pdf_from_s3_with_length_etag_and_cache(s3_app, session_factory, settings):
    client, bucket = s3_app
    contract = _add_contract(session_factory, s3_key="2023/GAP-4350948342.pdf")
    url = f"/api/v1/contracts/{contract.id}/pdf"
    first = client.get(url)
    assert first.status_code == 200
    assert first.data == PDF
    assert first.headers["Content-Type"] == "application/pdf"
    assert int(first.headers["Content-Length"]) == len(PDF)
    assert first.headers["ETag"] and first.headers["X-Cache"] == "miss"
    second = client.get(url)
    assert second.headers["X-Cache"] == "hit" and second.headers["ETag"] == first.headers["ETag"]
    assert client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    assert lookup_counts(get_cache(settings), "pdf") == {"hit": 2, "miss": 1}


def test_pdf_range_request(s3_app, session_factory):
    client, _ = s3_app
    contract = _add_contract(session_factory, s3_key="2023/GAP-4350948342.pdf")
    url = f"/api/v1/contracts/{contract.id}/pdf"
    part = client.get(url, headers={"Range": "bytes=9-18"})
    assert part.status_code == 206
    assert part.data == PDF[9:19]
    assert part.headers["Content-Range"] == f"bytes 9-18/{len(PDF)}"
    outside = client.get(url, headers={"Range": f"bytes={len(PDF) + 10}-"})
    assert outside.status_code == 416 and outside.headers["Content-Range"] == f"bytes */{len(PDF)}"
    assert outside.get_json()["status"] == 416
    # Opening the document is audited once; the viewer's later ranges are not.
    assert len([v for v in _audit(session_factory, "view") if v.event_data == {"what": "pdf"}]) == 0
    client.get(url, headers={"Range": "bytes=0-99"})
    assert len([v for v in _audit(session_factory, "view") if v.event_data == {"what": "pdf"}]) == 1


@pytest.fixture
def large_pdf(s3_server, settings, session_factory, clean_db, redis_client):
    """A PDF above the cache limit: (app, contract)."""
    client = s3_server.client()
    bucket = f"big-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key="big.pdf", Body=PDF)
    app = create_app(settings.replace(s3_endpoint_url=s3_server.endpoint, s3_bucket=bucket, pdf_cache_max_bytes=100))
    return app, _add_contract(session_factory, s3_key="big.pdf")


def test_large_pdf_is_streamed_with_ranges_passed_to_s3(large_pdf, settings):
    app, contract = large_pdf
    url = f"/api/v1/contracts/{contract.id}/pdf"
    whole = app.test_client().get(url)
    assert whole.status_code == 200 and whole.data == PDF and "X-Cache" not in whole.headers
    part = app.test_client().get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.data == PDF[100:200]
    assert get_cache(settings).get(f"pdf:{contract.id}") is None


def test_missing_s3_object_is_404(s3_app, session_factory):
    client, _ = s3_app
    contract = _add_contract(session_factory, s3_key="2023/not-there.pdf")
    response = client.get(f"/api/v1/contracts/{contract.id}/pdf")
    assert response.status_code == 404
    assert "missing from S3" in response.get_json()["message"]


def test_s3_refusing_is_502(s3_app, session_factory):
    client, _ = s3_app
    contract = _add_contract(session_factory, s3_bucket="bucket-that-does-not-exist", s3_key="GAP.pdf")
    response = client.get(f"/api/v1/contracts/{contract.id}/pdf")
    assert response.status_code == 502
    assert response.get_json()["code"] == "upstream_error"


def test_pdf_from_the_local_folder(client, session_factory, settings):
    from pathlib import Path

    folder = Path(settings.pdf_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "GAP-local.pdf").write_bytes(PDF)
    contract = _add_contract(session_factory, pdf_path="GAP-local.pdf")
    response = client.get(f"/api/v1/contracts/{contract.id}/pdf")
    assert response.status_code == 200 and response.data == PDF
    missing = _add_contract(session_factory, number="9988776655", pdf_path="GAP-gone.pdf")
    assert client.get(f"/api/v1/contracts/{missing.id}/pdf").status_code == 404
    none = _add_contract(session_factory, number="9988776600")
    response = client.get(f"/api/v1/contracts/{none.id}/pdf")
    assert response.status_code == 404 and "has no PDF" in response.get_json()["message"]
    assert client.get(f"/api/v1/contracts/{uuid.uuid4()}/pdf").status_code == 404


def test_large_pdf_range_outside_is_416(large_pdf):
    app, contract = large_pdf
    response = app.test_client().get(f"/api/v1/contracts/{contract.id}/pdf", headers={"Range": f"bytes={len(PDF) + 5}-"})
    assert response.status_code == 416
    assert response.get_json()["code"] == "range_not_satisfiable"
    assert response.headers["Content-Range"] == f"bytes */{len(PDF)}"
