"""Every adapter through its real SDK against the loopback simulator: success, 429, timeout,
malformed answers, the circuit breaker opening, falling back, and its state shared by processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest

from pipeline.providers.registry import ProviderChain, breaker_for
from tests.conftest import ROOT
from tests.support.waiting import wait_for

CONTRACT = (
    "GAP WAIVER ADDENDUM\nBuyer: Maria Lopez. Amount Financed: $24,500.00. Monthly payment $489.20.\n"
    "The GAP Waiver charge is $795.00 and is included in the Amount Financed.\n"
    "If you pay off early or cancel, any refund of the GAP charge is calculated on a pro rata basis.\n"
    "A cancellation fee of $50.00 will be deducted from any refund.\n"
    "This Waiver covers up to $1,000 of your insurance deductible."
)
EXPECTED = {"gap_insurance_premium": "795.00", "refund_calculation_method": "pro_rata", "cancellation_fee": "50.00"}
ADAPTERS = ("openai", "anthropic", "bedrock", "openai_compatible")


@pytest.fixture
def sim(simulator):
    return simulator


@pytest.fixture
def remote(sim, settings, redis_client):
    """Settings pointing every adapter at the simulator, no local fallback unless a test asks."""
    sim.reset()

    def make(primary: str, **changes):
        values = dict(
            llm_provider=primary,
            openai_api_key="sk-test-not-a-real-key-000",
            openai_base_url=f"{sim.base_url}/v1",
            anthropic_api_key="sk-ant-test-not-a-real-key",
            anthropic_base_url=sim.base_url,
            anthropic_model="claude-test",
            bedrock_endpoint_url=sim.base_url,
            openai_compatible_base_url=f"{sim.base_url}/v1",
            openai_compatible_model="llama-3.1-8b-instruct",
            llm_local_fallback=False,
            llm_timeout=5,
        )
        return settings.replace(**{**values, **changes})

    return make


def _grounded(result):
    from pipeline.extraction.grounding import check_all

    return {name: f.value for name, f in check_all(result.output.fields, CONTRACT).items()}


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_each_adapter_extracts_through_its_sdk(remote, sim, adapter):
    result = ProviderChain(remote(adapter)).extract(text=CONTRACT)
    assert result.output.provider == adapter
    assert _grounded(result) == EXPECTED
    assert result.output.prompt_tokens > 0
    assert result.attempts == [{"provider": adapter, "attempts": 1, "outcome": "ok"}]
    assert sim.stats()["total_requests"] == 1


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_429_is_retried_after_the_time_the_provider_asks(remote, sim, adapter):
    sim.enqueue_faults(["429"])
    waits = []
    result = ProviderChain(remote(adapter), sleep=waits.append).extract(text=CONTRACT)
    assert result.output.provider == adapter and _grounded(result) == EXPECTED
    assert result.attempts[0]["attempts"] == 2
    assert len(waits) == 1 and waits[0] >= 0.2  # Retry-After honoured
    assert sim.stats()["total_requests"] == 2


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_timeout_then_fallback_to_the_next_provider(remote, sim, adapter):
    sim.configure(timeout_hold=5)
    sim.enqueue_faults(["timeout"])
    settings = remote(adapter, llm_timeout=1, llm_retry_max_attempts=1, llm_local_fallback=True)
    result = ProviderChain(settings).extract(text=CONTRACT)
    assert result.output.provider == "local"
    assert result.attempts[0]["outcome"] == "error" and "timed out" in result.attempts[0]["error"]
    assert _grounded(result) == EXPECTED


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_malformed_answer_is_a_provider_error_then_retried(remote, sim, adapter):
    sim.enqueue_faults(["malformed"])
    result = ProviderChain(remote(adapter), sleep=lambda s: None).extract(text=CONTRACT)
    assert result.attempts[0]["attempts"] == 2
    assert _grounded(result) == EXPECTED

    sim.enqueue_faults(["malformed"])
    from pipeline.providers.registry import AllProvidersFailed

    with pytest.raises(AllProvidersFailed, match=adapter):
        ProviderChain(remote(adapter, llm_retry_max_attempts=1)).extract(text=CONTRACT)


def test_breaker_opens_after_five_failures_and_falls_back(remote, sim):
    settings = remote("openai", llm_retry_max_attempts=1, llm_local_fallback=True, llm_circuit_breaker_threshold=5)
    sim.enqueue_faults(["500"] * 5)
    for _ in range(5):
        assert ProviderChain(settings).extract(text=CONTRACT).output.provider == "local"
    assert breaker_for("openai", settings).state == "open"
    served = sim.stats()["total_requests"]

    result = ProviderChain(settings).extract(text=CONTRACT)
    assert result.output.provider == "local"
    assert result.attempts[0]["outcome"] == "circuit_open"
    assert sim.stats()["total_requests"] == served  # the open circuit spared the provider


def test_open_breaker_lets_one_trial_through_after_the_reset_time(remote, sim):
    settings = remote("anthropic", llm_retry_max_attempts=1, llm_local_fallback=True, llm_circuit_breaker_threshold=2, llm_circuit_breaker_reset_seconds=1)
    sim.enqueue_faults(["500", "500"])
    for _ in range(2):
        ProviderChain(settings).extract(text=CONTRACT)
    breaker = breaker_for("anthropic", settings)
    assert breaker.state == "open"
    wait_for(lambda: breaker._seconds_until_trial() == 0, timeout=5, what="the reset time to pass")
    result = ProviderChain(settings).extract(text=CONTRACT)
    assert result.output.provider == "anthropic"  # the trial call succeeded
    assert breaker.state == "closed"


def test_breaker_does_not_serialise_calls(remote, sim):
    sim.configure(latency=0.3)
    settings = remote("openai")
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: ProviderChain(settings).extract(text=CONTRACT), range(20)))
    assert all(r.output.provider == "openai" for r in results)
    assert sim.stats()["max_in_flight"] >= 10


def test_breaker_state_is_shared_between_processes(remote, sim, settings):
    shared = remote("openai", llm_retry_max_attempts=1, llm_local_fallback=True, llm_circuit_breaker_threshold=3)
    sim.enqueue_faults(["500"] * 3)
    # Another process (as another worker would) fails three times against the provider.
    script = textwrap.dedent(
        f"""
        from pipeline.core.settings import get_settings
        from pipeline.providers.registry import ProviderChain
        s = get_settings()
        for _ in range(3):
            print(ProviderChain(s).extract(text={CONTRACT!r}).output.provider)
        """
    )
    env = {
        **os.environ,
        "LLM_PROVIDER": "openai",
        "OPENAI_API_KEY": shared.openai_api_key,
        "OPENAI_BASE_URL": shared.openai_base_url,
        "LLM_RETRY_MAX_ATTEMPTS": "1",
        "LLM_CIRCUIT_BREAKER_THRESHOLD": "3",
        "LLM_TIMEOUT": "5",
    }
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["local", "local", "local"]
    served = sim.stats()["total_requests"]
    # This process never failed, yet sees the circuit open and does not call the provider.
    result = ProviderChain(shared).extract(text=CONTRACT)
    assert result.attempts[0]["outcome"] == "circuit_open"
    assert sim.stats()["total_requests"] == served
