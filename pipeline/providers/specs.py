"""One ProviderSpec per provider: its name, the settings it cannot run without, how to build it.

The registry builds providers from these, and a batch may name a provider only when its spec's
settings are set. The same rules stop start-up when LLM_PROVIDER or LLM_FALLBACK_PROVIDERS names
a provider without them (``Settings._check``, which sits below this package; a unit test keeps
the two in step).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pipeline.core.settings import Settings
from pipeline.providers.base import Provider


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    needs: tuple[str, ...]  # Settings fields that must be set (credentials, endpoint)
    build: Callable[[Settings], Provider]

    def configured(self, settings: Settings) -> bool:
        return all(getattr(settings, field) for field in self.needs)


def _local(settings: Settings) -> Provider:
    from pipeline.providers.local.provider import LocalProvider

    return LocalProvider()


def _openai(settings: Settings) -> Provider:
    from pipeline.providers.remote.openai import OpenAIProvider

    return OpenAIProvider(name="openai", api_key=settings.openai_api_key, model=settings.openai_model, base_url=settings.openai_base_url, timeout=settings.llm_timeout)


def _openai_compatible(settings: Settings) -> Provider:
    from pipeline.providers.remote.openai import OpenAIProvider

    return OpenAIProvider(
        name="openai_compatible",
        api_key=settings.openai_compatible_api_key,
        model=settings.openai_compatible_model,
        base_url=settings.openai_compatible_base_url,
        timeout=settings.llm_timeout,
    )


def _anthropic(settings: Settings) -> Provider:
    from pipeline.providers.remote.anthropic import AnthropicProvider

    return AnthropicProvider(api_key=settings.anthropic_api_key, model=settings.anthropic_model, base_url=settings.anthropic_base_url, timeout=settings.llm_timeout)


def _bedrock(settings: Settings) -> Provider:
    from pipeline.providers.remote.bedrock import BedrockProvider

    return BedrockProvider(region=settings.aws_bedrock_region, model_id=settings.bedrock_model_id, endpoint_url=settings.bedrock_endpoint_url, timeout=settings.llm_timeout)


# SDKs are imported when a provider is first built, so a deployment without one never loads it.
SPECS: tuple[ProviderSpec, ...] = (
    ProviderSpec("local", (), _local),
    ProviderSpec("openai", ("openai_api_key",), _openai),
    ProviderSpec("anthropic", ("anthropic_api_key",), _anthropic),
    ProviderSpec("bedrock", (), _bedrock),  # credentials come from the AWS chain (role, profile)
    ProviderSpec("openai_compatible", ("openai_compatible_base_url", "openai_compatible_model"), _openai_compatible),
)
_BY_NAME = {spec.name: spec for spec in SPECS}


def spec_for(name: str) -> ProviderSpec:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown provider {name!r}") from None
