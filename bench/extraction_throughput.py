"""Extraction throughput through API, broker, workers and the provider simulator.

    .venv/bin/python bench/extraction_throughput.py [--contracts 10000] [--latency 0.5]
        [--workers 4] [--concurrency 24] [--pool 8] [--submitters 16]

N contracts are loaded; every one is asked for through POST /api/v1/extractions/create (gunicorn),
the jobs go through Redis to Celery workers (thread pools), which call the openai adapter against
the simulator answering after --latency seconds. Prints jobs per second (sustained, from the first
request to the last job done), CPU seconds per job (workers, web, simulator, and the whole machine)
and how many provider calls were in flight. Goal on a 2-core machine: at least 80 extractions per
second with 500 ms provider latency.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, WebServer, bench_env, fresh_database, machine

TICKS = os.sysconf("SC_CLK_TCK")

TEXT = (
    "GAP WAIVER ADDENDUM\nBuyer: {name}. Amount Financed: $24,500.00. Monthly payment $489.20.\n"
    "The GAP Waiver charge is ${premium}.00 and is included in the Amount Financed.\n"
    "If you pay off early or cancel, any refund of the GAP charge is calculated on a pro rata basis.\n"
    "A cancellation fee of $50.00 will be deducted from any refund.\n"
)


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU of every live process in a process group."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5 of stat: the process group
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def named_cpu_seconds(*names: str) -> float:
    """User + system CPU of every live process whose command name is one of ``names``."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            comm, rest = Path(f"/proc/{entry}/stat").read_text().split(" (", 1)[1].rsplit(")", 1)
        except (OSError, ValueError):
            continue
        if comm in names:
            fields = rest.split()
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def machine_busy_seconds() -> float:
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / TICKS


def load(count: int) -> list[str]:
    rows = []
    for i in range(count):
        number = f"{5000000000 + i * 7919}"
        rows.append(json.dumps({"account_number": number, "customer_name": f"Customer {i}", "document_text": TEXT.format(name=f"Customer {i}", premium=400 + i % 800)}))
    path = ROOT / "var" / "bench" / "contracts.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n")
    subprocess.run([sys.executable, "-m", "flask", "--app", "api", "contracts", "import", str(path)], cwd=ROOT, env=bench_env(), check=True, capture_output=True)
    import sqlalchemy as sa

    engine = sa.create_engine(bench_env()["DATABASE_URL"])
    with engine.connect() as conn:
        ids = [str(r[0]) for r in conn.execute(sa.text("SELECT id FROM contracts"))]
    engine.dispose()
    return ids


def counts(engine) -> tuple[int, int]:
    import sqlalchemy as sa

    with engine.connect() as conn:
        done = conn.execute(sa.text("SELECT count(*) FILTER (WHERE status = 'succeeded'), count(*) FILTER (WHERE status = 'failed') FROM jobs")).one()
    return int(done[0]), int(done[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=10000)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--workers", type=int, default=4, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=24, help="threads per worker process")
    parser.add_argument("--pool", type=int, default=8, help="database connections per worker process (plus as many again under load)")
    parser.add_argument("--submitters", type=int, default=16, help="clients posting extraction requests")
    args = parser.parse_args()

    import redis
    import sqlalchemy as sa

    fresh_database()
    redis.Redis.from_url(bench_env()["REDIS_URL"]).flushdb()
    ids = load(args.contracts)

    sim = subprocess.Popen([sys.executable, "-m", "tests.simulator", "--latency", str(args.latency)], cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True)
    sim_url = sim.stdout.readline().strip()
    env = bench_env(LLM_PROVIDER="openai", OPENAI_API_KEY="sk-bench-not-a-real-key", OPENAI_BASE_URL=f"{sim_url}/v1",
                    LLM_LOCAL_FALLBACK="false", WORKER_CONCURRENCY=str(args.concurrency),
                    DATABASE_POOL_SIZE=str(args.pool), DATABASE_MAX_OVERFLOW=str(args.pool))
    workers = [
        subprocess.Popen([sys.executable, "-m", "celery", "-A", "workers", "worker", "-Q", "interactive,bulk", "--loglevel", "WARNING",
                          "--without-mingle", "--without-gossip", "-n", f"bench{i}@%h"], cwd=ROOT, env=env, start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for i in range(args.workers)
    ]
    web = WebServer(workers=2, threads=8, env=env)
    engine = sa.create_engine(env["DATABASE_URL"])
    in_flight: list[int] = []
    stop_sampling = threading.Event()

    def sample() -> None:
        while not stop_sampling.wait(0.25):
            try:
                with urllib.request.urlopen(f"{sim_url}/_sim/stats", timeout=2) as r:
                    in_flight.append(json.load(r)["in_flight"])
            except OSError:
                pass

    try:
        time.sleep(3)  # let the workers connect (their start is not what is measured)
        cpu_before = {name: group_cpu_seconds(p.pid) for name, p in [("workers", workers[0]), ("web", web.proc), ("simulator", sim)]}
        cpu_before["workers"] = sum(group_cpu_seconds(w.pid) for w in workers)
        cpu_before["stores"] = named_cpu_seconds("postgres", "redis-server")
        cpu_before["client"] = own_cpu_seconds()
        busy_before = machine_busy_seconds()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.monotonic()

        def submit(chunk: list[str]) -> None:
            conn = web.connection()
            for contract_id in chunk:
                status, _ = web.request("POST", "/api/v1/extractions/create", {"contract_id": contract_id}, conn)
                if status not in (200, 202):
                    raise SystemExit(f"create answered {status}")
            conn.close()

        chunks = [ids[i :: args.submitters] for i in range(args.submitters)]
        with ThreadPoolExecutor(args.submitters) as pool:
            list(pool.map(submit, chunks))
        submitted = time.monotonic()
        deadline = time.monotonic() + max(600, args.contracts / 5)
        while time.monotonic() < deadline:
            ok, failed = counts(engine)
            if ok + failed >= len(ids):
                break
            time.sleep(0.2)
        finished = time.monotonic()
        stop_sampling.set()
        cpu = {
            "workers": sum(group_cpu_seconds(w.pid) for w in workers) - cpu_before["workers"],
            "web": group_cpu_seconds(web.proc.pid) - cpu_before["web"],
            "simulator": group_cpu_seconds(sim.pid) - cpu_before["simulator"],
            "stores": named_cpu_seconds("postgres", "redis-server") - cpu_before["stores"],
            "client": own_cpu_seconds() - cpu_before["client"],
        }
        busy = machine_busy_seconds() - busy_before
        with urllib.request.urlopen(f"{sim_url}/_sim/stats", timeout=2) as r:
            stats = json.load(r)
    finally:
        stop_sampling.set()
        web.stop()
        for p in [*workers, sim]:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in [*workers, sim]:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        engine.dispose()

    n = len(ids)
    elapsed = finished - started
    print(f"\nExtraction throughput  ({machine()})")
    print(f"contracts {n}, provider latency {args.latency * 1000:.0f} ms, {args.workers} worker processes x {args.concurrency} threads")
    print(f"{'succeeded / failed':<36}{ok} / {failed}")
    print(f"{'submission (API) rate':<36}{n / (submitted - started):.1f} requests/s")
    print(f"{'sustained throughput':<36}{n / elapsed:.1f} extractions/s ({elapsed:.1f} s for all)")
    print(f"{'CPU s per job, workers':<36}{cpu['workers'] / n * 1000:.2f} ms")
    print(f"{'CPU s per job, web':<36}{cpu['web'] / n * 1000:.2f} ms")
    print(f"{'CPU s per job, simulator':<36}{cpu['simulator'] / n * 1000:.2f} ms")
    print(f"{'CPU s per job, PostgreSQL + Redis':<36}{cpu['stores'] / n * 1000:.2f} ms")
    print(f"{'CPU s per job, this load generator':<36}{cpu['client'] / n * 1000:.2f} ms")
    print(f"{'CPU s per job, whole machine':<36}{busy / n * 1000:.2f} ms")
    if in_flight:
        print(f"{'provider calls in flight':<36}median {statistics.median(in_flight):.0f}, max {stats['max_in_flight']}")


if __name__ == "__main__":
    main()
