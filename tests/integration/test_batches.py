"""Bulk extraction: batches through the API and the CLI, on a real worker, with right counters."""

from __future__ import annotations

import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select, update

from models import AuditEvent, Batch, Extraction, Job
from pipeline.batches import service as batches
from pipeline.jobs import dispatch
from tests.support.fleet import insert_contracts
from tests.support.waiting import wait_for

BATCHES = "/api/v1/batches"


@contextmanager
def _sending_to(dispatcher=None):
    """Jobs sent while inside go to ``dispatcher`` (by default nowhere) instead of the broker."""
    previous = dispatch.current()
    dispatch.install(dispatcher or type("Quiet", (), {"send": lambda self, **kw: None})())
    try:
        yield
    finally:
        dispatch.install(previous)


def _completed(client, batch_id):
    body = client.get(f"{BATCHES}/{batch_id}").get_json()
    return body if body["status"] == "completed" else None


def _extract_directly(session_factory, contract_ids):
    with session_factory() as session:
        session.add_all([Extraction(contract_id=c, status="pending") for c in contract_ids])
        session.commit()


def _live_jobs(session_factory, contract_ids):
    with session_factory() as session:
        session.add_all([Job(kind="extraction", status="queued", queue="interactive", contract_id=c) for c in contract_ids])
        session.commit()


def test_a_batch_of_hundreds_completes_on_a_worker_with_right_counters(client, worker, session_factory):
    ids = insert_contracts(session_factory, 300)
    no_text = insert_contracts(session_factory, 5, with_text=False)
    _extract_directly(session_factory, ids[:20])
    _live_jobs(session_factory, ids[20:30])
    given = [str(i) for i in ids + no_text] + [str(ids[100])]  # one id twice

    response = client.post(BATCHES, json={"contract_ids": given})
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    batch_id = body["batch_id"]
    assert response.headers["Location"] == f"{BATCHES}/{batch_id}" == body["location"]
    assert body["total"] == 275 and body["skipped"] == 31  # 20 extracted, 10 live, 1 repeat
    assert body["total"] + body["skipped"] == len(given)
    assert body["status"] == "running"

    done = wait_for(lambda: _completed(client, batch_id), timeout=240, what="the batch to complete")
    assert (done["succeeded"], done["failed"], done["queued"], done["running"]) == (270, 5, 0, 0)
    assert done["done"] == 275 and done["percent"] == 100.0
    assert done["started_at"] and done["finished_at"] and done["finished_at"] >= done["started_at"]
    assert done["throughput_per_second"] > 0 and done["eta_seconds"] is None
    assert {f["contract_id"] for f in done["failures"]} == {str(c) for c in no_text}
    assert done["failure_reasons"] == [{"error": "the contract has no document text and no PDF", "count": 5}]

    with session_factory() as session:
        per_contract = dict(session.execute(select(Extraction.contract_id, func.count()).group_by(Extraction.contract_id)).all())
        jobs = session.execute(select(Job.queue, Job.request_id).where(Job.batch_id == uuid.UUID(batch_id))).all()
        stored = session.get(Batch, uuid.UUID(batch_id))
        created_events = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "job")).all()
    assert len(per_contract) == 290 and set(per_contract.values()) == {1}  # every text contract, once
    assert {queue for queue, _ in jobs} == {"bulk"}
    assert {rid for _, rid in jobs} == {response.headers["X-Request-ID"]}
    assert stored.status == "completed" and stored.finished_at is not None
    assert [e.event_data["action"] for e in created_events] == ["batch_created"]

    # Asking again starts nothing: everything is extracted or in progress.
    again = client.post(BATCHES, json={"contract_ids": given[:50]}).get_json()
    assert (again["total"], again["skipped"], again["status"]) == (0, 50, "completed")


def test_writing_in_chunks_sends_each_chunk_after_it_commits(app, session_factory, settings):
    ids = insert_contracts(session_factory, 23)
    _extract_directly(session_factory, ids[:3])
    _live_jobs(session_factory, ids[3:5])
    sent, seen_at_chunk = [], []

    class Recorder:
        def send(self, **kwargs):
            sent.append(kwargs)

    def on_chunk(total, skipped):
        with session_factory() as session:
            committed = session.scalar(select(func.count()).select_from(Job).where(Job.batch_id.is_not(None)))
        seen_at_chunk.append((total, skipped, len(sent), committed))

    with _sending_to(Recorder()):
        created = batches.create(factory=session_factory, settings=settings, all_unextracted=True, chunk_size=4, on_chunk=on_chunk)
    assert (created.total, created.skipped) == (18, 2)  # 20 unextracted, 2 of them live
    assert len(seen_at_chunk) == 5  # 20 contracts in chunks of 4
    # After each chunk, every job written so far is committed and sent, no more.
    assert all(total == sent_count == committed for total, _, sent_count, committed in seen_at_chunk)
    assert {m["queue"] for m in sent} == {"bulk"} and {m["task_name"] for m in sent} == {"extraction.run"}
    with session_factory() as session:
        batch = session.get(Batch, created.batch_id)
        assert (batch.total, batch.skipped, batch.status) == (18, 2, "running")
        state = batches.progress(session=session, batch_id=created.batch_id)
    assert (state["queued"], state["started_at"], state["throughput_per_second"]) == (18, None, None)


def test_a_list_is_read_twice_and_a_provider_is_kept_on_the_jobs(app, session_factory, settings):
    ids = insert_contracts(session_factory, 9)
    with _sending_to():
        created = batches.create(factory=session_factory, settings=settings.replace(openai_api_key="sk-x"),
                                 contract_ids=ids, provider="openai", chunk_size=2)
    assert (created.total, created.skipped) == (9, 0)
    with session_factory() as session:
        payloads = session.scalars(select(Job.payload).where(Job.batch_id == created.batch_id)).all()
        assert session.get(Batch, created.batch_id).provider == "openai"
    assert payloads == [{"provider": "openai"}] * 9


def test_bad_requests_are_422_and_write_nothing(client, session_factory):
    ids = [str(i) for i in insert_contracts(session_factory, 3)]
    ghosts = [str(uuid.uuid4()) for _ in range(25)]
    cases = [
        {},
        {"contract_ids": ids, "all_unextracted": True},
        {"all_unextracted": False},
        {"contract_ids": []},
        {"contract_ids": ["not-a-uuid", ids[0]]},
        {"contract_ids": ids, "provider": "gpt-9"},
        {"contract_ids": ids, "provider": "anthropic"},  # known, but no key on this deployment
        {"contract_ids": ids + ghosts},
        {"contract_ids": "all"},
    ]
    for body in cases:
        response = client.post(BATCHES, json=body)
        answer = response.get_json()
        assert response.status_code == 422, (body, answer)
        assert answer["code"] == "validation_error" and answer["message"] and answer["request_id"], answer
    unknown = client.post(BATCHES, json={"contract_ids": ids + ghosts}).get_json()
    assert unknown["details"]["unknown_count"] == 25 and len(unknown["details"]["json"]["contract_ids"]) == 20
    assert set(unknown["details"]["json"]["contract_ids"]) <= set(ghosts)
    malformed = client.post(BATCHES, json={"contract_ids": ["not-a-uuid"]}).get_json()
    assert "contract_ids" in malformed["details"]["json"]
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Batch)) == 0
        assert session.scalar(select(func.count()).select_from(Job)) == 0
    assert client.get(f"{BATCHES}/{uuid.uuid4()}").status_code == 404
    bad_id = client.get(f"{BATCHES}/nope")
    assert bad_id.status_code == 422 and bad_id.get_json()["code"] == "validation_error"


def test_cli_extracts_from_a_file_follows_and_reports(app, worker, session_factory, tmp_path):
    ids = insert_contracts(session_factory, 40)
    _extract_directly(session_factory, ids[:4])
    listing = tmp_path / "ids.txt"
    listing.write_text("# tonight's contracts\n" + "\n".join(str(i) for i in ids) + "\n\n")
    runner = app.test_cli_runner()

    result = runner.invoke(args=["batch", "extract", "--file", str(listing), "--interval", "0.2", "--timeout", "240"])
    assert result.exit_code == 0, result.output + worker.output()[-3000:]
    assert ": 36 jobs on the bulk queue, 4 contracts skipped" in result.stdout
    assert "completed: 36 succeeded, 0 failed, 4 skipped, 36 jobs" in result.stdout
    assert "36/36 100.0%" in result.stderr and "/s" in result.stderr and "ETA" in result.stderr
    batch_id = result.stdout.split()[1].rstrip(":")

    status = runner.invoke(args=["batch", "status", batch_id])
    assert status.exit_code == 0 and "completed: 36 succeeded" in status.stdout

    nothing = runner.invoke(args=["batch", "extract", "--all"])
    assert nothing.exit_code == 0 and "nothing to do" in nothing.stdout


def test_cli_exit_codes_for_bad_input_and_failures(app, worker, session_factory, tmp_path):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["batch", "extract"]).exit_code == 2
    assert runner.invoke(args=["batch", "extract", "--all", "--file", "x"]).exit_code == 2
    assert runner.invoke(args=["batch", "extract", "--file", str(tmp_path / "missing.txt")]).exit_code == 2
    bad = tmp_path / "bad.txt"
    bad.write_text(f"{uuid.uuid4()}\nnot-an-id\n")
    result = runner.invoke(args=["batch", "extract", "--file", str(bad)])
    assert result.exit_code == 2 and "line 2" in result.stderr
    ghost = tmp_path / "ghost.txt"
    ghost.write_text(f"{uuid.uuid4()}\n")
    result = runner.invoke(args=["batch", "extract", "--file", str(ghost)])
    assert result.exit_code == 2 and "name no contract" in result.stderr
    assert runner.invoke(args=["batch", "status", "nope"]).exit_code == 2
    assert runner.invoke(args=["batch", "status", str(uuid.uuid4())]).exit_code == 2

    failing = insert_contracts(session_factory, 3, with_text=False)
    listing = tmp_path / "failing.txt"
    listing.write_text("\n".join(str(i) for i in failing))
    result = runner.invoke(args=["batch", "extract", "--file", str(listing), "--interval", "0.2", "--timeout", "120"])
    assert result.exit_code == 1, result.output
    assert "0 succeeded, 3 failed" in result.stdout and "3 x the contract has no document text" in result.stdout


def test_all_unextracted_through_the_api_answers_at_once_and_a_worker_writes_the_jobs(client, worker, session_factory):
    ids = insert_contracts(session_factory, 40)
    _extract_directly(session_factory, ids[:4])
    _live_jobs(session_factory, ids[4:6])

    response = client.post(BATCHES, json={"all_unextracted": True})
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    # The answer came before any extraction job was written: the batch waits for its writer.
    assert (body["status"], body["total"], body["skipped"], body["queued"]) == ("queued", 0, 0, 0)
    batch_id = body["batch_id"]

    done = wait_for(lambda: _completed(client, batch_id), timeout=120, what="the batch to complete")
    assert (done["total"], done["skipped"], done["succeeded"], done["failed"]) == (34, 2, 34, 0)
    with session_factory() as session:
        writer = session.scalars(select(Job).where(Job.kind == "batch")).one()
        batch_jobs = session.scalars(select(Job.kind).where(Job.batch_id == uuid.UUID(batch_id))).all()
    assert writer.status == "succeeded" and writer.queue == "interactive" and writer.payload["batch_id"] == batch_id
    assert writer.result["total"] == 34
    assert set(batch_jobs) == {"extraction"}  # the writer is not one of the batch's jobs


class WriterDied(Exception):
    pass


def test_a_writer_run_again_after_dying_midway_neither_duplicates_nor_miscounts(app, session_factory, settings):
    ids = insert_contracts(session_factory, 10)
    _live_jobs(session_factory, ids[:1])
    with _sending_to():
        with session_factory() as session:
            batch = batches.start_unextracted(session=session, settings=settings)
            session.commit()
            writer = session.scalars(select(Job).where(Job.kind == "batch")).one()
            session.expunge_all()

        # The first writer wrote a chunk of 4 contracts, then died before finishing.
        def die(total, skipped):
            raise WriterDied

        with pytest.raises(WriterDied):
            batches._write_unextracted(session_factory, batch, size=4, request_id=None, writer=writer, on_chunk=die)
        # The redelivered job (its payload as PostgreSQL has it now) writes the rest, once.
        with session_factory() as session:
            redelivered = session.get(Job, writer.id)
            session.expunge(redelivered)
        assert "after" in redelivered.payload
        with app.app_context():
            result = batches._expand(redelivered)
    with session_factory() as session:
        stored = session.get(Batch, batch.id)
        per_contract = dict(session.execute(
            select(Job.contract_id, func.count()).where(Job.batch_id == batch.id).group_by(Job.contract_id)
        ).all())
    assert set(per_contract.values()) == {1} and len(per_contract) == 9  # every contract but the live one, once
    assert (stored.total, stored.skipped, stored.status) == (9, 1, "running")
    assert (result["total"], result["skipped"]) == (9, 1)


def test_a_batch_whose_writer_waits_in_the_queue_is_not_released(session_factory, settings, app):
    from datetime import datetime, timedelta, timezone

    with _sending_to(), session_factory() as session:
        batch = batches.start_unextracted(session=session, settings=settings)
        session.commit()
    later = datetime.now(timezone.utc) + timedelta(hours=2)
    with session_factory() as session:
        swept = batches.sweep(session=session, queued_stale_after=60, now=later)
        session.commit()
        assert swept["batches_released"] == 0 and session.get(Batch, batch.id).status == "queued"
        # Once the writer is gone for good (failed), the stale batch is released as before.
        session.execute(update(Job).where(Job.kind == "batch").values(status="failed"))
        swept = batches.sweep(session=session, queued_stale_after=60, now=later)
        session.commit()
        assert swept["batches_released"] == 1
