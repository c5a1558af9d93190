"""What every remote provider is asked, and how its answer is read back.

One tool (function) with a JSON schema: for each field the value, a confidence and the verbatim
passage. The same schema serves OpenAI function calling, Anthropic tool use and Bedrock
Converse tool configuration.
"""

from __future__ import annotations

import json
from typing import Any

from pipeline.providers.base import FieldValue, ProviderError
from pipeline.vocabulary import FIELD_NAMES, REFUND_METHODS

TOOL_NAME = "record_gap_refund_terms"
MAX_DOCUMENT_CHARS = 120_000

SYSTEM_PROMPT = f"""You read US auto-finance GAP (Guaranteed Asset Protection) contracts, waivers and
addenda, and report three facts a support agent needs to compute a refund:

- gap_insurance_premium: the price the customer paid for the GAP coverage, however the contract
  names it (GAP charge, premium, fee, cost, price, debt cancellation fee). Not the amount
  financed, the monthly payment, deductibles, benefit caps or the vehicle price.
- refund_calculation_method: how an unearned GAP charge is refunded on early payoff or
  cancellation: one of {", ".join(REFUND_METHODS)}.
- cancellation_fee: the fee charged for cancelling the GAP coverage; "0.00" when the contract
  says there is no fee; null when the contract does not mention one.

For each field give the value (amounts as digits with two decimals, e.g. "795.00"), a confidence
between 0 and 1, and the exact passage from the contract that states it, copied verbatim
(character for character, no paraphrase, no ellipsis). When the contract does not state a
field, give null for value and quote and a low confidence. Never guess. Always answer by calling
the {TOOL_NAME} tool."""


def _field_schema(description: str, value_schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "properties": {
            "value": value_schema,
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "quote": {"type": ["string", "null"], "description": "verbatim passage of the contract"},
        },
        "required": ["value", "confidence", "quote"],
        "additionalProperties": False,
    }


TOOL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "gap_insurance_premium": _field_schema("price of the GAP coverage", {"type": ["string", "null"], "description": "e.g. 795.00"}),
        "refund_calculation_method": _field_schema(
            "refund method for the unearned GAP charge", {"type": ["string", "null"], "enum": [*REFUND_METHODS, None]}
        ),
        "cancellation_fee": _field_schema("fee for cancelling the GAP coverage", {"type": ["string", "null"], "description": "e.g. 50.00; 0.00 when none"}),
    },
    "required": list(FIELD_NAMES),
    "additionalProperties": False,
}

TOOL_DESCRIPTION = "Record the GAP premium, refund calculation method and cancellation fee found in the contract."


def user_message(text: str) -> str:
    if len(text) > MAX_DOCUMENT_CHARS:
        # GAP terms sit in the first pages; a very long document is cut rather than refused.
        text = text[:MAX_DOCUMENT_CHARS]
    return f"Contract text:\n<contract>\n{text}\n</contract>"


def arguments_object(arguments: Any, what: str = "answer") -> dict[str, Any]:
    """A tool call's arguments (a JSON string or an object) as a dict; ProviderError when malformed.

    Retryable: a model that answered malformed once usually answers well the next time.
    """
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            raise ProviderError(f"the provider's {what} is not valid JSON", retryable=True) from None
    if not isinstance(arguments, dict):
        raise ProviderError(f"the provider's {what} is not an object", retryable=True)
    return arguments


def fields_from_arguments(arguments: Any) -> dict[str, FieldValue]:
    """Read the tool's arguments (a JSON string or an object); ProviderError when malformed."""
    arguments = arguments_object(arguments)
    fields: dict[str, FieldValue] = {}
    for name in FIELD_NAMES:
        item = arguments.get(name)
        if not isinstance(item, dict) or "value" not in item:
            raise ProviderError(f"the provider's answer lacks {name}", retryable=True)
        value = item.get("value")
        if value is not None and not isinstance(value, (str, int, float)):
            raise ProviderError(f"the provider's {name} value has the wrong type", retryable=True)
        confidence = item.get("confidence", 0.0)
        if not isinstance(confidence, (int, float)) or isinstance(confidence, bool):
            raise ProviderError(f"the provider's {name} confidence is not a number", retryable=True)
        quote = item.get("quote")
        fields[name] = FieldValue(
            value=None if value is None else str(value),
            confidence=float(confidence),
            quote=quote if isinstance(quote, str) else None,
        )
    return fields
