"""Admin metrics and the Prometheus endpoint, computed from rows and counters the tests write."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from models import Contract, Correction, Extraction, Job
from pipeline.core.cache import get_cache
from pipeline.ops import metrics

METRICS = "/api/v1/admin/metrics"
NOW = datetime.now(timezone.utc)
TODAY = NOW.date()


def _days_ago(days: int, hour: int = 12) -> datetime:
    """Noon (UTC) a number of days ago, so the day never depends on when the test runs."""
    return datetime.combine(TODAY - timedelta(days=days), datetime.min.time(), tzinfo=timezone.utc).replace(hour=hour)


@pytest.fixture
def rows(session_factory, clean_db):
    """Eight contracts; six extractions (four approved, some corrected); jobs of known run time."""
    with session_factory() as session:
        contracts = [Contract(account_number=f"90000000{n:02d}") for n in range(8)]
        session.add_all(contracts)
        session.flush()
        # (created days ago, approved days ago or None, provider latency ms)
        plan = [(0, 0, 1000), (1, 0, 2000), (3, 2, None), (10, 9, 3000), (2, None, 4000), (40, None, 5000)]
        extractions = []
        for contract, (created, approved, latency) in zip(contracts, plan):
            extraction = Extraction(
                contract_id=contract.id,
                status="approved" if approved is not None else "pending",
                approved_at=_days_ago(approved) if approved is not None else None,
                gap_insurance_premium=Decimal("795.00"),
                latency_ms=latency,
                created_at=_days_ago(created),
            )
            extractions.append(extraction)
        session.add_all(extractions)
        session.flush()
        a, b, c, d = extractions[:4]  # the approved ones
        session.add_all(
            [
                Correction(extraction_id=a.id, field_name="gap_insurance_premium", corrected_value="800.00"),
                Correction(extraction_id=b.id, field_name="gap_insurance_premium", corrected_value="700.00"),
                # Corrected twice: two corrections, one corrected extraction.
                Correction(extraction_id=b.id, field_name="cancellation_fee", corrected_value="50.00"),
                Correction(extraction_id=b.id, field_name="cancellation_fee", corrected_value="25.00"),
            ]
        )
        # Succeeded extraction jobs that ran 1..20 seconds (p95 by nearest rank: 19 s, mean 10.5 s),
        # plus jobs the figure must ignore: too old, failed, still running, another kind.
        started = NOW - timedelta(hours=1)
        for seconds in range(1, 21):
            session.add(Job(kind="extraction", status="succeeded", started_at=started, finished_at=started + timedelta(seconds=seconds)))
        session.add(Job(kind="extraction", status="succeeded", started_at=NOW - timedelta(days=8), finished_at=NOW - timedelta(days=8) + timedelta(seconds=500)))
        session.add(Job(kind="extraction", status="failed", started_at=started, finished_at=started + timedelta(seconds=300)))
        session.add(Job(kind="extraction", status="running", started_at=started))
        session.add(Job(kind="extraction", status="queued", queue="bulk"))
        session.add(Job(kind="chat", status="succeeded", started_at=started, finished_at=started + timedelta(seconds=400)))
        session.commit()


@pytest.fixture
def counters(redis_client):
    redis_client.set("metrics:cache:contract:hit", 30)
    redis_client.set("metrics:cache:contract:miss", 10)
    redis_client.set("metrics:cache:pdf:hit", 5)
    redis_client.set("metrics:cache:pdf:miss", 15)


def test_metrics_figures_match_the_rows(client, rows, counters):
    response = client.get(METRICS)
    assert response.status_code == 200
    body = response.get_json()

    assert body["contracts"] == {"total": 8}
    assert body["extractions"] == {"total": 6, "by_status": {"pending": 2, "approved": 4}}

    timing = body["extraction_time"]
    assert timing["source"] == "jobs" and timing["window_days"] == 7
    assert timing["count"] == 20
    assert timing["avg_ms"] == pytest.approx(10500, abs=1)
    assert timing["p95_ms"] == pytest.approx(19000, abs=1)
    # Extractions created in the last 7 days with a latency: 1000, 2000, 4000.
    assert timing["provider_avg_ms"] == pytest.approx(2333.3, abs=0.1)

    assert body["cache"] == {
        "hit_rate": 0.5833,
        "kinds": {"contract": {"hit": 30, "miss": 10, "hit_rate": 0.75}, "pdf": {"hit": 5, "miss": 15, "hit_rate": 0.25}},
    }

    corrections = body["corrections"]
    assert corrections["approved_extractions"] == 4
    assert corrections["fields"]["gap_insurance_premium"] == {"corrections": 2, "corrected_extractions": 2, "correction_rate": 0.5, "accuracy": 0.5}
    assert corrections["fields"]["cancellation_fee"] == {"corrections": 2, "corrected_extractions": 1, "correction_rate": 0.25, "accuracy": 0.75}
    assert corrections["fields"]["refund_calculation_method"] == {"corrections": 0, "corrected_extractions": 0, "correction_rate": 0.0, "accuracy": 1.0}

    jobs = body["jobs"]
    assert jobs["by_status"] == {"queued": 1, "running": 1, "succeeded": 22, "failed": 1}
    assert jobs["by_kind"]["extraction"] == {"queued": 1, "running": 1, "succeeded": 21, "failed": 1}
    assert jobs["by_kind"]["chat"]["succeeded"] == 1

    assert body["queues"]["broker"] == "redis"
    assert set(body["queues"]["depth"]) == {"interactive", "bulk"}
    assert all(isinstance(n, int) and n >= 0 for n in body["queues"]["depth"].values())

    daily = body["daily"]
    assert [d["date"] for d in daily] == [(TODAY - timedelta(days=k)).isoformat() for k in range(6, -1, -1)]
    created = {d["date"]: d["extractions_created"] for d in daily}
    approved = {d["date"]: d["extractions_approved"] for d in daily}
    day = lambda k: (TODAY - timedelta(days=k)).isoformat()
    assert created == {**dict.fromkeys(created, 0), day(0): 1, day(1): 1, day(2): 1, day(3): 1}
    assert approved == {**dict.fromkeys(approved, 0), day(0): 2, day(2): 1}

    weekly = body["weekly"]
    assert [(w["start"], w["end"]) for w in weekly] == [(day(7 * k + 6), day(7 * k)) for k in range(3, -1, -1)]
    # The latest week is the sum of the daily figures; the 40-day-old extraction is in neither.
    assert weekly[-1]["extractions_created"] == sum(created.values()) == 4
    assert weekly[-1]["extractions_approved"] == sum(approved.values()) == 3
    assert [w["extractions_created"] for w in weekly] == [0, 0, 1, 4]
    assert [w["extractions_approved"] for w in weekly] == [0, 0, 1, 3]


def test_metrics_of_an_empty_service_have_no_rates(client):
    body = client.get(METRICS).get_json()
    assert body["contracts"]["total"] == 0 and body["extractions"]["total"] == 0
    assert body["extraction_time"]["count"] == 0
    assert body["extraction_time"]["avg_ms"] is None and body["extraction_time"]["p95_ms"] is None
    assert body["cache"]["hit_rate"] is None
    assert body["corrections"]["fields"]["cancellation_fee"]["accuracy"] is None
    assert sum(body["jobs"]["by_status"].values()) == 0
    assert len(body["daily"]) == 7 and len(body["weekly"]) == 4


def test_queue_depth_counts_every_priority_list_of_a_redis_queue(settings, redis_client):
    # Queue names no worker consumes, so a worker running for other tests cannot take them.
    queues = ("metrics-test-interactive", "metrics-test-bulk")
    redis_client.lpush(queues[0], "a", "b", "c")
    redis_client.lpush(f"{queues[0]}\x06\x166", "d")
    redis_client.lpush(f"{queues[1]}\x06\x169", "e", "f")
    assert metrics.queue_depths(settings, queues) == {"broker": "redis", "depth": {queues[0]: 4, queues[1]: 2}}


def test_queue_depth_is_unknown_for_the_file_system_broker(settings):
    assert metrics.queue_depths(settings.replace(celery_broker_url="filesystem://")) == {"broker": "filesystem", "depth": {"interactive": None, "bulk": None}}


def test_queue_depth_is_unknown_when_redis_is_down(settings):
    down = settings.replace(celery_broker_url="redis://127.0.0.1:1/0")
    assert metrics.queue_depths(down)["depth"] == {"interactive": None, "bulk": None}


# --- Prometheus -------------------------------------------------------------------------------

SAMPLE = re.compile(r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$')


def _parse(text: str) -> dict[tuple[str, frozenset], float]:
    """Samples of the text exposition format: {(name, labels): value}; fails on a malformed line."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) \w+ ", line) or not line, line
            continue
        match = SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', match["labels"] or ""))
        samples[(match["name"], labels)] = float(match["value"])
    return samples


def test_prometheus_endpoint_serves_the_same_figures(client, rows, counters):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples = _parse(response.get_data(as_text=True))
    body = client.get(METRICS).get_json()

    def value(name, **labels):
        return samples[(name, frozenset(labels.items()))]

    assert value("cre_contracts") == body["contracts"]["total"] == 8
    assert value("cre_extractions", status="approved") == 4 and value("cre_extractions", status="pending") == 2
    assert value("cre_extraction_jobs_measured") == 20
    assert value("cre_extraction_duration_seconds", stat="avg") == pytest.approx(body["extraction_time"]["avg_ms"] / 1000)
    assert value("cre_extraction_duration_seconds", stat="p95") == pytest.approx(19.0)
    assert value("cre_cache_lookups_total", kind="contract", result="hit") == 30
    assert value("cre_cache_lookups_total", kind="pdf", result="miss") == 15
    assert value("cre_cache_hit_ratio", kind="all") == body["cache"]["hit_rate"]
    assert value("cre_cache_hit_ratio", kind="pdf") == 0.25
    assert value("cre_extractions_approved") == 4
    assert value("cre_corrections", field="cancellation_fee") == 2
    assert value("cre_corrected_extractions", field="cancellation_fee") == 1
    assert value("cre_field_accuracy_ratio", field="gap_insurance_premium") == 0.5
    assert value("cre_jobs", kind="extraction", status="succeeded") == 21
    assert value("cre_jobs", kind="chat", status="succeeded") == 1
    for queue, depth in body["queues"]["depth"].items():
        assert value("cre_queue_depth", queue=queue) == depth
    assert value("cre_extractions_created_daily", days_ago="0") == body["daily"][-1]["extractions_created"] == 1
    assert value("cre_extractions_approved_daily", days_ago="0") == 2
    assert value("cre_extractions_approved_daily", days_ago="2") == 1
    assert value("cre_extractions_created_weekly", weeks_ago="0") == 4
    assert value("cre_extractions_created_weekly", weeks_ago="1") == 1


def test_prometheus_leaves_out_figures_it_does_not_have(app, settings, clean_db, redis_client):
    from api import create_app

    embedded_broker = create_app(settings.replace(celery_broker_url="filesystem://")).test_client()
    text = embedded_broker.get("/metrics").get_data(as_text=True)
    samples = _parse(text)
    assert not any(name == "cre_queue_depth" for name, _ in samples)
    assert not any(name == "cre_cache_hit_ratio" for name, _ in samples)  # no lookups yet
    assert samples[("cre_contracts", frozenset())] == 0
    assert "# TYPE cre_queue_depth gauge" in text


def test_metrics_use_a_handful_of_queries_whatever_the_row_count(session_factory, rows, settings):
    from sqlalchemy import event

    statements = []
    with session_factory() as session:
        engine = session.get_bind()
        listener = lambda *args: statements.append(args[2])
        event.listen(engine, "before_cursor_execute", listener)
        try:
            metrics.collect(session=session, cache=get_cache(settings), settings=settings)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
    assert len(statements) <= 8, statements
