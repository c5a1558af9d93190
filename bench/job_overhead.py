"""CPU cost of the job machinery alone: no-op jobs through Redis and Celery workers.

    .venv/bin/python bench/job_overhead.py [--jobs 3000] [--workers 4] [--concurrency 12]

Writes N maintenance jobs, sends their ids, and measures the workers' CPU per job (claim,
run a no-op, finish, mirror to Redis, plus Celery and kombu's own work per message). Whatever
an extraction costs beyond this is the provider call and the extraction itself.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, bench_env, fresh_database, machine
from bench.extraction_throughput import group_cpu_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=12)
    args = parser.parse_args()

    import redis
    import sqlalchemy as sa

    fresh_database()
    env = bench_env(WORKER_CONCURRENCY=str(args.concurrency))
    os.environ.update(env)
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    from pipeline.core import db
    from pipeline.core.settings import get_settings, reset_settings
    from pipeline.jobs import dispatch
    from pipeline.jobs import lifecycle as jobs
    from pipeline.ops.worker_check import MAINTENANCE
    from workers.celery_app import CeleryDispatcher, create_celery

    reset_settings()
    settings = get_settings()
    dispatch.install(CeleryDispatcher(create_celery(settings)))
    workers = [
        subprocess.Popen([sys.executable, "-m", "celery", "-A", "workers", "worker", "-Q", "interactive,bulk", "--loglevel", "WARNING",
                          "--without-mingle", "--without-gossip", "-n", f"overhead{i}@%h"], cwd=ROOT, env=env, start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for i in range(args.workers)
    ]
    engine = sa.create_engine(env["DATABASE_URL"])
    try:
        time.sleep(3)
        before = sum(group_cpu_seconds(w.pid) for w in workers)
        started = time.monotonic()
        for start in range(0, args.jobs, 500):
            with db.unit_of_work(settings) as session:
                for _ in range(min(500, args.jobs - start)):
                    jobs.create(session=session, kind=MAINTENANCE, queue="bulk")
        while time.monotonic() - started < 600:
            with engine.connect() as conn:
                done = conn.execute(sa.text("SELECT count(*) FROM jobs WHERE status = 'succeeded'")).scalar()
            if done >= args.jobs:
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        cpu = sum(group_cpu_seconds(w.pid) for w in workers) - before
    finally:
        for w in workers:
            os.killpg(w.pid, signal.SIGTERM)
        for w in workers:
            w.wait(timeout=30)
        engine.dispose()
    print(f"\nJob machinery overhead  ({machine()})")
    print(f"{args.jobs} no-op jobs, {args.workers} workers x {args.concurrency} threads, task events {'on' if settings.celery_task_events else 'off'}")
    print(f"throughput {args.jobs / elapsed:.0f} jobs/s; worker CPU per job {cpu / args.jobs * 1000:.2f} ms")


if __name__ == "__main__":
    main()
