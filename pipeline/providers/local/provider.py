"""The `local` provider: the offline, deterministic rules extractor and retrieval answerer behind
the Provider interface.

It is the embedded default (no keys, no network) and the last fallback when remote providers
fail, so it never raises on odd input: any text, even an empty one, gives the three fields
(None where nothing is found), and any question an answer. The rules live in ``local_extractor``
and ``local_chat``.
"""

from __future__ import annotations

import time

from pipeline.providers.base import ChatOutput, ChatRequest, ExtractionOutput, Provider
from pipeline.providers.local import answerer as local_chat
from pipeline.providers.local.extractor import extract_fields

MODEL_NAME = "local-rules-v1"
CHAT_MODEL_NAME = "local-retrieval-v1"


class LocalProvider(Provider):
    name = "local"

    def extract(self, *, text: str) -> ExtractionOutput:
        started = time.perf_counter()
        fields = extract_fields(text)
        latency_ms = round((time.perf_counter() - started) * 1000)
        return ExtractionOutput(
            fields=fields,
            provider=self.name,
            model=MODEL_NAME,
            # No tokenizer here; a word count is the rough equivalent the usage figures need.
            prompt_tokens=len(text.split()),
            completion_tokens=0,
            latency_ms=latency_ms,
        )

    def answer(self, *, request: ChatRequest) -> ChatOutput:
        started = time.perf_counter()
        text, quotes, answered = local_chat.answer(request)
        return ChatOutput(
            text=text,
            quotes=quotes,
            answered=answered,
            provider=self.name,
            model=CHAT_MODEL_NAME,
            prompt_tokens=len(request.question.split()) + sum(len(p.text.split()) for p in request.passages),
            completion_tokens=len(text.split()),
            latency_ms=round((time.perf_counter() - started) * 1000),
        )
