"""Chat answer latency with the local provider: enqueue to result, through gunicorn, Redis, a Celery
worker, PostgreSQL and back.

    .venv/bin/python bench/chat_latency.py [--conversations 30] [--turns 4] [--poll-ms 2]

Loads the 20 demo contracts, starts gunicorn and one worker (local provider), then holds
conversations one message at a time, as an agent would: POST /api/v1/chat, then poll
GET /api/v1/jobs/{id} every --poll-ms until the job is done. The time measured is from sending
the POST to reading the finished result (polling adds up to --poll-ms). Cases: the first message
of a session, follow-up messages (history read from Redis), and a message naming an account
number (a contract search and a switch). Prints median and p95 per case.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, WebServer, bench_env, fresh_database, print_table, summarise

# Sizes for `bench/run_all.py --quick` (a tenth of --turns would be no follow-up at all).
QUICK_ARGS = ["--conversations", "5", "--turns", "2"]

QUESTIONS = ("What is the cancellation fee?", "How is the refund calculated?", "What did the GAP coverage cost?",
             "Can they cancel within 30 days for a full refund?", "Which vehicle is it?", "What is the maximum amount waived?")


def load_demo_contracts() -> list[dict]:
    from pipeline.seed.demo import demo_contracts

    demos = demo_contracts()
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for demo in demos:
            f.write(json.dumps({k: v for k, v in demo.items() if k not in ("expected", "pdf_path")}) + "\n")
    subprocess.run([sys.executable, "-m", "flask", "--app", "api", "contracts", "import", f.name], cwd=ROOT, env=bench_env(), check=True, capture_output=True)
    return demos


def contract_ids(server: WebServer, demos: list[dict], conn) -> list[str]:
    ids = []
    for demo in demos:
        status, body = server.request("POST", "/api/v1/contracts/search", {"account_number": demo["account_number"]}, conn)
        if status != 200:
            raise SystemExit(f"search answered {status}")
        ids.append(json.loads(body)["contract_id"])
    return ids


def timed_chat(server: WebServer, conn, body: dict, poll: float) -> tuple[float, dict]:
    started = time.perf_counter()
    status, raw = server.request("POST", "/api/v1/chat", body, conn)
    if status != 202:
        raise SystemExit(f"chat answered {status}: {raw[:200]!r}")
    job_id = json.loads(raw)["job_id"]
    while True:
        status, raw = server.request("GET", f"/api/v1/jobs/{job_id}", None, conn)
        job = json.loads(raw)
        if job["status"] in ("succeeded", "failed"):
            elapsed = (time.perf_counter() - started) * 1000
            if job["status"] != "succeeded":
                raise SystemExit(f"chat job failed: {job['error']}")
            return elapsed, job["result"]
        time.sleep(poll)


def run(conversations: int, turns: int, poll_ms: float) -> None:
    import redis

    fresh_database()
    demos = load_demo_contracts()
    redis.Redis.from_url(bench_env()["REDIS_URL"]).flushdb()
    env = bench_env(LLM_PROVIDER="local", WORKER_CONCURRENCY="4")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "workers", "worker", "-Q", "interactive", "--loglevel", "WARNING",
         "--without-mingle", "--without-gossip", "-n", "bench-chat@%h"],
        cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    server = WebServer(env=env)
    poll = poll_ms / 1000
    cases: dict[str, list[float]] = {"first message": [], "follow-up (history)": [], "account switch": []}
    try:
        conn = server.connection()
        ids = contract_ids(server, demos, conn)
        timed_chat(server, conn, {"message": "warm-up", "contract_id": ids[0]}, poll)  # the worker's first job imports and connects
        for n in range(conversations):
            contract_id = ids[n % len(ids)]
            elapsed, result = timed_chat(server, conn, {"message": QUESTIONS[n % len(QUESTIONS)], "contract_id": contract_id}, poll)
            cases["first message"].append(elapsed)
            session_id = result["session_id"]
            for turn in range(1, turns):
                question = QUESTIONS[(n + turn) % len(QUESTIONS)]
                elapsed, _ = timed_chat(server, conn, {"message": question, "session_id": session_id}, poll)
                cases["follow-up (history)"].append(elapsed)
            other = demos[(n + 7) % len(demos)]["account_number"]
            elapsed, result = timed_chat(server, conn, {"message": f"look up {other}", "session_id": session_id}, poll)
            if "contract_switch" not in result:
                raise SystemExit(f"no switch to {other}: {result['response']}")
            cases["account switch"].append(elapsed)
        conn.close()
    finally:
        server.stop()
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=20)
    print_table(f"Chat answer latency, enqueue to result, local provider, {conversations} conversations of {turns} turns + a switch "
                f"(polling every {poll_ms:g} ms)", [(name, summarise(samples)) for name, samples in cases.items() if samples])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=30)
    parser.add_argument("--turns", type=int, default=4, help="messages per conversation before the switch (at least 1)")
    parser.add_argument("--poll-ms", type=float, default=2.0)
    args = parser.parse_args()
    if args.conversations < 1 or args.turns < 1:
        parser.error("--conversations and --turns must be at least 1")
    run(args.conversations, args.turns, args.poll_ms)
