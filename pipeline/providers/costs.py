"""Approximate list prices (USD per million tokens) to record a cost per extraction.

Unknown models cost 0 here rather than a guess; the tokens are recorded either way.
"""

from decimal import Decimal

from pipeline.providers.base import ExtractionOutput

PRICES: dict[str, tuple[str, str]] = {
    "gpt-4o-mini": ("0.15", "0.60"),
    "gpt-4o": ("2.50", "10.00"),
    "gpt-4.1-mini": ("0.40", "1.60"),
    "gpt-4.1": ("2.00", "8.00"),
    "claude-sonnet-4-5": ("3.00", "15.00"),
    "claude-3-5-sonnet": ("3.00", "15.00"),
    "claude-3-5-haiku": ("0.80", "4.00"),
    "anthropic.claude-3-5-sonnet": ("3.00", "15.00"),
}


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int) -> Decimal:
    for prefix, (prompt, completion) in PRICES.items():
        if model.startswith(prefix):
            total = Decimal(prompt) * prompt_tokens + Decimal(completion) * completion_tokens
            return (total / Decimal(1_000_000)).quantize(Decimal("0.000001"))
    return Decimal("0")


def priced_output(*, fields, provider: str, model: str, priced_as: str, prompt_tokens: int, completion_tokens: int, latency_ms: int):
    """An ExtractionOutput with its cost worked out from the token counts."""
    return ExtractionOutput(
        fields=fields,
        provider=provider,
        model=model,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost_usd=cost_usd(priced_as, prompt_tokens, completion_tokens),
        latency_ms=latency_ms,
    )
