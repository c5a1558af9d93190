"""Interactive extraction latency while a bulk batch runs (queue isolation).

    .venv/bin/python bench/queue_isolation.py [--contracts 5000] [--latency 0.5] [--probes 10]
        [--layout dedicated|shared|both] [--bulk-workers 2] [--concurrency 12] [--interactive-concurrency 4]

A batch of N contracts is submitted through POST /api/v1/batches (gunicorn) and runs on the bulk
queue against the provider simulator answering after --latency seconds. While it runs, an agent's
extraction is requested every second through POST /api/v1/extractions/create and polled until it
succeeds; its latency (request to observed success) is compared with the provider latency plus one
second, the goal. Layouts:

- dedicated: one worker process with --interactive-concurrency threads on `-Q interactive`, and
  --bulk-workers processes on `-Q bulk` (the recommended layout);
- shared: the same number of processes and threads, all on `-Q interactive,bulk`.

Also prints how long creating the batch took (chunked transactions, jobs sent after each).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, WebServer, bench_env, fresh_database, machine, percentile
from bench.extraction_throughput import load

QUICK_ARGS = ["--contracts", "500", "--probes", "5", "--layout", "dedicated"]


def start_workers(layout: str, args: argparse.Namespace, env: dict[str, str]) -> list[subprocess.Popen]:
    plan: list[tuple[str, int]] = []
    if layout == "dedicated":
        plan.append(("interactive", args.interactive_concurrency))
        plan += [("bulk", args.concurrency)] * args.bulk_workers
    else:
        # The same processes and threads, every one on both queues.
        plan.append(("interactive,bulk", args.interactive_concurrency))
        plan += [("interactive,bulk", args.concurrency)] * args.bulk_workers
    return [
        subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workers", "worker", "-Q", queues, "-c", str(threads), "--loglevel", "WARNING",
             "--without-mingle", "--without-gossip", "-n", f"iso{i}@%h"],
            cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for i, (queues, threads) in enumerate(plan)
    ]


def stop(processes: list[subprocess.Popen]) -> None:
    for p in processes:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in processes:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def probe(web: WebServer, contract_id: str, conn) -> float:  # an HTTPConnection
    """Seconds from asking for an extraction to seeing it succeeded."""
    started = time.monotonic()
    status, raw = web.request("POST", "/api/v1/extractions/create", {"contract_id": contract_id}, conn)
    if status != 202:
        raise SystemExit(f"create answered {status}: {raw[:200]!r}")
    job_id = json.loads(raw)["job_id"]
    while True:
        status, raw = web.request("GET", f"/api/v1/jobs/{job_id}", None, conn)
        state = json.loads(raw)["status"]
        if state == "succeeded":
            return time.monotonic() - started
        if state == "failed":
            raise SystemExit(f"interactive job failed: {raw[:300]!r}")
        time.sleep(0.01)


def run(layout: str, args: argparse.Namespace) -> dict:
    import redis

    fresh_database()
    redis.Redis.from_url(bench_env()["REDIS_URL"]).flushdb()
    ids = load(args.contracts + args.probes)
    bulk_ids, probe_ids = ids[: args.contracts], ids[args.contracts :]

    sim = subprocess.Popen([sys.executable, "-m", "tests.simulator", "--latency", str(args.latency)], cwd=ROOT,
                           stdout=subprocess.PIPE, text=True, start_new_session=True)
    sim_url = sim.stdout.readline().strip()
    env = bench_env(LLM_PROVIDER="openai", OPENAI_API_KEY="sk-bench-not-a-real-key", OPENAI_BASE_URL=f"{sim_url}/v1",
                    LLM_LOCAL_FALLBACK="false", DATABASE_POOL_SIZE="8", DATABASE_MAX_OVERFLOW="8")
    workers = start_workers(layout, args, env)
    web = WebServer(workers=2, threads=4, env=env)
    try:
        time.sleep(3)  # let the workers connect (their start is not what is measured)
        conn = web.connection()
        started = time.monotonic()
        status, raw = web.request("POST", "/api/v1/batches", {"contract_ids": bulk_ids}, conn)
        created_in = time.monotonic() - started
        if status != 202:
            raise SystemExit(f"batch answered {status}: {raw[:300]!r}")
        batch = json.loads(raw)
        time.sleep(2)  # the bulk workers are busy now
        latencies, progress = [], []
        for contract_id in probe_ids:
            latencies.append(probe(web, contract_id, conn))
            _, raw = web.request("GET", f"/api/v1/batches/{batch['batch_id']}", None, conn)
            state = json.loads(raw)
            progress.append((state["done"], state["queued"], state["running"]))
            time.sleep(1)
        conn.close()
    finally:
        web.stop()
        stop([*workers, sim])
    return {"layout": layout, "created_in": created_in, "total": batch["total"], "latencies": latencies, "progress": progress}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=5000, help="contracts in the bulk batch")
    parser.add_argument("--latency", type=float, default=0.5, help="provider latency in seconds")
    parser.add_argument("--probes", type=int, default=10, help="interactive extractions measured")
    parser.add_argument("--layout", choices=("dedicated", "shared", "both"), default="both")
    parser.add_argument("--bulk-workers", type=int, default=2, help="worker processes for the bulk queue")
    parser.add_argument("--concurrency", type=int, default=12, help="threads per bulk worker process")
    parser.add_argument("--interactive-concurrency", type=int, default=4, help="threads of the interactive worker process")
    args = parser.parse_args()

    results = [run(layout, args) for layout in (("dedicated", "shared") if args.layout == "both" else (args.layout,))]
    goal = args.latency + 1.0
    print(f"\nInteractive extraction under a bulk batch  ({machine()})")
    print(f"batch of {args.contracts} contracts, provider latency {args.latency * 1000:.0f} ms, goal: interactive within {goal:.1f} s; "
          f"{args.bulk_workers} bulk processes x {args.concurrency} threads + 1 x {args.interactive_concurrency}")
    print(f"{'layout':<12}{'batch created':>15}{'n':>4}{'median s':>10}{'p95 s':>8}{'max s':>8}{'within goal':>13}{'bulk left at end':>18}")
    for r in results:
        lat = r["latencies"]
        done, queued, running = r["progress"][-1]
        within = f"{sum(1 for x in lat if x <= goal)}/{len(lat)}"
        left = f"{queued + running} of {r['total']}"
        print(f"{r['layout']:<12}{r['created_in']:>13.2f} s{len(lat):>4}{statistics.median(lat):>10.3f}{percentile(lat, 95):>8.3f}{max(lat):>8.3f}"
              f"{within:>13}{left:>18}")
    print("(latency: from POST /extractions/create to GET /jobs/{id} answering succeeded; 'bulk left': jobs still queued or running after the last probe)")


if __name__ == "__main__":
    main()
