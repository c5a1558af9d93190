"""A provider's requests-per-minute limit holds for the whole fleet, not per worker.

Two worker processes, four threads each, share one Redis bucket; the provider simulator records
when each request arrived. Unlimited, the eight threads would hit the provider at once.
"""

from __future__ import annotations

import os

from pipeline.batches import service as batches
from pipeline.providers.resilience import rate_limit
from tests.conftest import ROOT
from tests.support.fleet import NamedWorker, insert_contracts, paused, workers
from tests.support.waiting import wait_for

RPM = 240  # one request every 0.25 s


def _most_in_any_window(arrivals: list[float], window: float) -> int:
    ordered = sorted(arrivals)
    return max(sum(1 for t in ordered[i:] if t < start + window) for i, start in enumerate(ordered))


def test_two_workers_together_stay_under_the_limit(client, worker, session_factory, settings, simulator):
    contracts = insert_contracts(session_factory, 20)
    simulator.reset()
    env = {**os.environ, "OPENAI_API_KEY": "sk-test-not-a-real-key-000", "OPENAI_BASE_URL": f"{simulator.base_url}/v1",
           "LLM_RATE_LIMIT_RPM": "0", "LLM_RATE_LIMIT_RPM_BY_PROVIDER": f"openai={RPM}"}
    fleet = [NamedWorker(f"limited{i}", cwd=ROOT, env=env, queues="bulk", concurrency=4) for i in range(2)]
    with paused(worker), workers(*fleet):
        created = batches.create(factory=session_factory, settings=settings.replace(openai_api_key="sk-x"),
                                 contract_ids=contracts, provider="openai")
        done = wait_for(lambda: (p := client.get(f"/api/v1/batches/{created.batch_id}").get_json())["status"] == "completed" and p,
                        timeout=120, what="the rate-limited batch")
    assert (done["succeeded"], done["failed"]) == (20, 0)
    arrivals = [r.arrived for r in simulator.requests("openai")]
    assert len(arrivals) == 20
    # Both processes did the work, so the limit held across them, not inside one.
    assert all(member.output().count('"job started"') >= 1 for member in fleet), [m.output()[-2000:] for m in fleet]
    # The slots are spaced 60/RPM s apart, so 20 calls span at least 19 slots; without the shared
    # limit they all arrive within a fraction of a second. Arrival times also carry the machine's
    # scheduling delay between a slot and its request (seen up to a few hundred ms on a loaded
    # 2-core host), so the per-second check allows for one late request bunching with the next.
    ordered = sorted(arrivals)
    assert ordered[-1] - ordered[0] >= 0.8 * 19 * 60 / RPM, ordered
    assert _most_in_any_window(arrivals, 1.0) <= RPM // 60 + 2, ordered


def test_slots_are_spaced_and_shared_through_redis(redis_client, settings):
    limited = settings.replace(llm_rate_limit_rpm=600, llm_rate_limit_rpm_by_provider=(("anthropic", 0),))
    assert rate_limit.limit_for("openai", limited) == 600
    assert rate_limit.limit_for("anthropic", limited) == 0
    assert rate_limit.reserve("anthropic", limited) == 0.0  # 0: unlimited, no bucket at all
    waits = [rate_limit.reserve("openai", limited) for _ in range(5)]
    # Each caller reserves the next slot, 0.1 s after the previous one (Redis's clock, not ours).
    assert waits[0] == 0.0
    assert all(0.05 < later - earlier <= 0.1 for earlier, later in zip(waits, waits[1:])), waits
    assert redis_client.exists(f"{rate_limit.NAMESPACE}:openai")


def test_without_redis_the_bucket_lives_in_the_process():
    now = [100.0]
    bucket = rate_limit.LocalBucket(clock=lambda: now[0])
    assert [bucket.reserve("openai", 0.5) for _ in range(3)] == [0.0, 0.5, 1.0]
    now[0] += 10
    assert bucket.reserve("openai", 0.5) == 0.0  # idle time does not bank a burst
