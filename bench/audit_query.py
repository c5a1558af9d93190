"""Audit trail query latency with 100,000 events for one contract, through gunicorn and in-process.

    .venv/bin/python bench/audit_query.py [--events 100000] [--noise 200000] [--samples 200]

Loads one contract with N audit events spread over 30 days (mostly searches, views and API
requests, one approval in a thousand) among other contracts' events, runs ANALYZE as autovacuum
would, then reads the contract's trail: the first page, a page filtered by type and time range
(the last day's views), a page of a rare type (approvals, found by walking the whole trail), and
a deep page. Each case is timed over HTTP (GET /api/v1/audit/contract/{id}, one keep-alive
connection; every read also writes its own api_request event) and as the bare service call
(query and count, no HTTP). Prints median and p95 per case.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import WebServer, bench_env, fresh_database, print_table, summarise

SPAN_DAYS = 30
# For `run_all.py --quick`: a tenth of the events and of the noise, fewer samples.
QUICK_ARGS = ["--events", "10000", "--noise", "20000", "--samples", "20"]


def load(engine, events: int, noise: int) -> uuid.UUID:
    """The contract under test and its events, plus other contracts' events, by set-based SQL."""
    import sqlalchemy as sa

    contract_id = uuid.uuid4()
    seconds = SPAN_DAYS * 86400 / max(events, 1)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO contracts (id, account_number, customer_name) VALUES (:id, '4350948342', 'Maria Lopez')"), {"id": contract_id})
        extraction_id = conn.execute(sa.text("INSERT INTO extractions (id, contract_id) VALUES (gen_random_uuid(), :c) RETURNING id"), {"c": contract_id}).scalar()
        conn.execute(sa.text(
            "INSERT INTO contracts (id, account_number, customer_name) "
            "SELECT gen_random_uuid(), (5000000000 + i)::text, 'Customer ' || i FROM generate_series(1, 2000) i"
        ))
        conn.execute(sa.text(
            "INSERT INTO audit_events (event_type, contract_id, extraction_id, request_id, event_data, created_at) "
            "SELECT CASE WHEN i % 1000 = 0 THEN 'approve' WHEN i % 3 = 0 THEN 'view' WHEN i % 3 = 1 THEN 'search' ELSE 'api_request' END, "
            "       :c, CASE WHEN i % 2 = 0 THEN CAST(:e AS uuid) END, md5(i::text), "
            "       jsonb_build_object('method', 'GET', 'path', '/api/v1/contracts/' || CAST(:c AS text), 'status', 200, 'n', i), "
            "       now() - i * make_interval(secs => :s) "
            "FROM generate_series(1, :n) i"
        ), {"c": contract_id, "e": extraction_id, "s": seconds, "n": events})
        conn.execute(sa.text(
            "INSERT INTO audit_events (event_type, contract_id, request_id, event_data, created_at) "
            "SELECT 'view', ids.a[(i % 2000) + 1], md5(i::text), jsonb_build_object('n', i), now() - i * interval '13 seconds' "
            "FROM generate_series(1, :n) i, (SELECT array_agg(id) AS a FROM contracts WHERE id <> :c) ids"
        ), {"n": noise, "c": contract_id})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE audit_events"))
    return contract_id


def cases(events: int) -> dict[str, dict]:
    day_ago = (datetime.now(timezone.utc) - timedelta(days=1)).isoformat()
    last_page = max(1, (events + 49) // 50)
    return {
        "first page": {},
        "views, last day": {"event_type": "view", "since": day_ago},
        "approvals (rare type)": {"event_type": "approve"},
        f"deep page ({last_page // 2})": {"page": str(last_page // 2)},
    }


def over_http(server: WebServer, contract_id: uuid.UUID, query: dict, samples: int) -> list[float]:
    from urllib.parse import urlencode

    path = f"/api/v1/audit/contract/{contract_id}?{urlencode({**query, 'page_size': 50})}"
    conn = server.connection()
    server.request("GET", path, conn=conn)  # warm-up
    out = []
    for _ in range(samples):
        started = time.perf_counter()
        status, _ = server.request("GET", path, conn=conn)
        out.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise SystemExit(f"audit trail answered {status}")
    conn.close()
    return out


def in_process(contract_id: uuid.UUID, query: dict, samples: int) -> list[float]:
    from pipeline import audit
    from pipeline.core import db

    filters = audit.TrailFilter(
        tuple(t for t in query.get("event_type", "").split(",") if t),
        datetime.fromisoformat(query["since"]) if "since" in query else None,
    )
    page = int(query.get("page", 1))
    out = []
    for i in range(samples + 1):
        with db.session_factory()() as session:
            started = time.perf_counter()
            events, total = audit.contract_trail(session=session, contract_id=contract_id, filters=filters, page=page, page_size=50)
            if i:  # the first is the warm-up
                out.append((time.perf_counter() - started) * 1000)
    if not events:
        raise SystemExit("the page is empty: the load went wrong")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--noise", type=int, default=200_000, help="events of 2,000 other contracts")
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()

    import sqlalchemy as sa

    fresh_database()
    env = bench_env()
    os.environ.update(env)
    from pipeline.core.settings import reset_settings

    reset_settings()
    engine = sa.create_engine(env["DATABASE_URL"])
    started = time.monotonic()
    contract_id = load(engine, args.events, args.noise)
    print(f"loaded {args.events} events for one contract and {args.noise} for others in {time.monotonic() - started:.1f}s")

    rows_http, rows_direct = [], []
    server = WebServer(workers=1, threads=2)
    try:
        for name, query in cases(args.events).items():
            rows_http.append((name, summarise(over_http(server, contract_id, query, args.samples))))
    finally:
        server.stop()
    for name, query in cases(args.events).items():
        rows_direct.append((name, summarise(in_process(contract_id, query, args.samples))))

    print_table(f"Audit trail over HTTP, {args.events} events for the contract, 50 per page", rows_http)
    print_table("Audit trail, service call only (page query and count)", rows_direct)
    with engine.connect() as conn:
        plan = conn.execute(sa.text(
            "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT * FROM audit_events WHERE contract_id = :c "
            "ORDER BY created_at DESC, id DESC LIMIT 50"
        ), {"c": contract_id}).scalars().all()
    print("\nplan of the first page:\n  " + "\n  ".join(plan))
    engine.dispose()


if __name__ == "__main__":
    main()
