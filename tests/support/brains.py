"""Simulator brains for the pipeline's tests: answer as a good model would."""

from __future__ import annotations

import re
from typing import Any

from pipeline.providers.local.extractor import extract_fields

_CONTRACT = re.compile(r"<contract>\n(.*)\n</contract>", re.DOTALL)


def reading_brain(prompt: str) -> dict[str, Any]:
    """Reads the contract in the prompt (with the local rules) and answers with verbatim quotes."""
    match = _CONTRACT.search(prompt)
    text = match.group(1) if match else prompt
    return {
        name: {"value": field.value, "confidence": field.confidence, "quote": field.quote}
        for name, field in extract_fields(text).items()
    }
