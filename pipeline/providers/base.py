"""The provider interface: extract the three fields from a contract's text; answer a chat turn.

Every provider, remote or local, returns the same shape: for each field a canonical value (or
None where the document is silent), a confidence in [0, 1] and the verbatim passage it came from.
Grounding (finding the passage in the document and recording its offsets) and validation are
done by the pipeline on every answer, whoever gave it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pipeline.text.passages import Passage


@dataclass(frozen=True)
class FieldValue:
    """One extracted field.

    ``value`` is canonical: money as a string with two decimals ("795.00"), the refund method
    as one of REFUND_METHODS, None where the document does not say. ``quote`` is the passage,
    copied verbatim from the document; ``start``/``end`` are its offsets in the text when known.
    """

    value: str | None
    confidence: float
    quote: str | None = None
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True)
class ExtractionOutput:
    fields: dict[str, FieldValue]
    provider: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: Decimal = field(default_factory=lambda: Decimal("0"))
    latency_ms: int = 0


@dataclass(frozen=True)
class ChatTurn:
    role: str  # "user" or "assistant"
    content: str


@dataclass(frozen=True)
class ChatTool:
    """A tool the answering model may call before it answers (e.g. the refund quote calculator).

    ``parameters`` is its arguments' JSON schema; ``run`` takes the arguments the model gave and
    returns a JSON-ready result for the model to read (``{"error": ...}`` when it cannot), and
    never raises for bad arguments. Remote adapters offer it as a function or tool; the local
    answerer calls it itself when the question asks for it.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    run: Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class ChatRequest:
    """Everything a provider needs to answer one chat turn about one contract.

    ``passages`` are the parts of the document most relevant to the question (retrieval keeps
    long contracts within the prompt); ``document_text`` is the whole text, for providers that
    do their own retrieval (the local one). ``contract`` holds metadata facts and
    ``extraction`` the extracted (or approved) values with their source quotes. ``tools`` are
    what the provider may call before answering.
    """

    question: str
    document_text: str = ""
    passages: tuple[Passage, ...] = ()
    history: tuple[ChatTurn, ...] = ()
    contract: dict[str, Any] = field(default_factory=dict)
    extraction: dict[str, Any] | None = None
    tools: tuple[ChatTool, ...] = ()

    def tool(self, name: str) -> ChatTool | None:
        return next((tool for tool in self.tools if tool.name == name), None)


@dataclass(frozen=True)
class ChatOutput:
    """A chat answer. ``quotes`` are passages the answer relies on, as the provider gave them;
    the pipeline keeps only those found in the document. ``answered`` is False when the
    contract does not answer the question."""

    text: str
    quotes: tuple[str, ...]
    answered: bool
    provider: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: Decimal = field(default_factory=lambda: Decimal("0"))
    latency_ms: int = 0


class ProviderError(Exception):
    """The provider failed or answered something unusable; ``retryable`` says if trying again may help."""

    def __init__(self, message: str, *, retryable: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


def retry_after_seconds(headers: object) -> float | None:
    """The Retry-After header in seconds, when a provider sent one as a number."""
    value = headers.get("retry-after") if hasattr(headers, "get") else None  # type: ignore[union-attr]
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class Provider(ABC):
    name: str = "abstract"

    @abstractmethod
    def extract(self, *, text: str) -> ExtractionOutput:
        """Extract the three fields from a contract's full text."""

    def answer(self, *, request: ChatRequest) -> ChatOutput:
        """Answer a chat turn; a provider that cannot chat fails it so the chain moves on."""
        raise ProviderError(f"{self.name}: this provider does not answer chat", retryable=False)
