"""Contract search latency, cached versus uncached, through gunicorn, PostgreSQL and Redis.

    .venv/bin/python bench/search_latency.py [--contracts 2000] [--searches 300]

Loads N contracts, then searches a sample of account numbers twice over one keep-alive
connection: the first pass misses the cache (database lookup, cache fill), the second hits it.
Prints median and p95 per case and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, WebServer, bench_env, fresh_database, print_table, summarise


def load_contracts(count: int) -> list[str]:
    numbers = [f"{4000000000 + i * 7919}" for i in range(count)]
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for n in numbers:
            f.write(json.dumps({"account_number": n, "customer_name": f"Customer {n[-4:]}", "state": "TX", "term_months": 60,
                                "document_text": "GAP Waiver Addendum. GAP charge: $795.00. Refunds pro rata."}) + "\n")
    subprocess.run([sys.executable, "-m", "flask", "--app", "api", "contracts", "import", f.name], cwd=ROOT, env=bench_env(), check=True, capture_output=True)
    return numbers


def run(contracts: int, searches: int) -> None:
    import redis

    fresh_database()
    numbers = load_contracts(contracts)
    redis.Redis.from_url(bench_env()["REDIS_URL"]).flushdb()
    sample = random.Random(7).sample(numbers, min(searches, len(numbers)))
    server = WebServer()
    try:
        conn = server.connection()
        server.request("POST", "/api/v1/contracts/search", {"account_number": numbers[0]}, conn)  # warm-up
        results = {}
        for case in ("uncached (database)", "cached (Redis)"):
            samples = []
            for number in sample:
                started = time.perf_counter()
                status, _ = server.request("POST", "/api/v1/contracts/search", {"account_number": number}, conn)
                samples.append((time.perf_counter() - started) * 1000)
                if status != 200:
                    raise SystemExit(f"search answered {status}")
            results[case] = summarise(samples)
        conn.close()
    finally:
        server.stop()
    print_table(f"Contract search latency, {contracts} contracts, {len(sample)} searches per case", list(results.items()))
    ratio = results["uncached (database)"]["median_ms"] / results["cached (Redis)"]["median_ms"]
    print(f"median uncached / cached: {ratio:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=2000)
    parser.add_argument("--searches", type=int, default=300)
    args = parser.parse_args()
    run(args.contracts, args.searches)
