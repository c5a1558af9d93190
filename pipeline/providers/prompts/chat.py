"""What every remote provider is asked for a chat turn, and how its answer is read back.

The conversation goes as real turns (earlier user and assistant messages), and the last user
turn carries the context: the contract's metadata, its extracted values and the passages of its
text most relevant to the question, each between ``<passage>`` tags with its offsets, then the
question. The model answers by calling one tool with the answer, whether the contract answers
the question, and the passages it relied on, copied verbatim; the pipeline keeps only those it
finds in the document.

Before answering, the model may call the tools the request offers (``ChatRequest.tools``: the
refund quote calculator, ``quote_refund``), up to ``MAX_TOOL_ROUNDS`` times; the adapters run them
and send their results back as tool results, then insist on the answer tool.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pipeline.providers.base import ChatRequest, ProviderError
from pipeline.providers.prompts.extraction import arguments_object

logger = logging.getLogger(__name__)

ANSWER_TOOL_NAME = "answer_contract_question"
ANSWER_TOOL_DESCRIPTION = "Give the answer to the agent's question about the contract, with the passages it relies on."
QUESTION_MARKER = "Question:"

CHAT_SYSTEM_PROMPT = f"""You assist support agents at an auto lender who answer customers' questions about their
GAP (Guaranteed Asset Protection) contract: what it cost, how a refund is calculated on early
payoff or cancellation, what fees apply, what it covers.

Answer from the contract only: its details, the values extracted from it (approved values were
checked by a person) and the passages of its text given with the question. Be brief and precise.
If they do not answer the question, say plainly that the contract does not answer it, set
answered to false and quote nothing; never guess and never use outside knowledge of typical
contracts. Each quote must be copied verbatim from a passage (character for character, no
paraphrase, no ellipsis). Always answer by calling the {ANSWER_TOOL_NAME} tool."""

QUOTE_TOOL_NAME = "quote_refund"
QUOTE_TOOL_DESCRIPTION = (
    "Compute what the customer would get back of the GAP charge if the coverage were cancelled on a date for "
    "a reason, from this contract's terms and the state's rules. Returns the refund, each step, the contract's "
    "refund clause and a quote_id. Call it for any question about how much would be refunded or got back."
)
QUOTE_TOOL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "cancellation_date": {"type": "string", "description": "YYYY-MM-DD; leave out for today"},
        "reason": {
            "type": "string",
            "enum": ["customer_request", "payoff", "trade_in", "refinance", "repossession", "total_loss", "unwind"],
            "description": "why the coverage ends; customer_request when the question does not say",
        },
        "claim_paid": {"type": "boolean", "description": "true only if the question says a GAP claim was already paid"},
    },
    "additionalProperties": False,
}
QUOTE_TOOL_GUIDANCE = f"""

When the agent asks how much the customer would get back (a refund on cancellation, payoff,
trade-in and the like) and the {QUOTE_TOOL_NAME} tool is offered, call it first; then answer with
the refund figure it returns, its quote_id, and quote the contract clause it returns verbatim."""
# Tool calls a model may make before it must answer (each is one more request to the provider).
MAX_TOOL_ROUNDS = 2


def system_prompt(request: ChatRequest) -> str:
    return CHAT_SYSTEM_PROMPT + (QUOTE_TOOL_GUIDANCE if request.tool(QUOTE_TOOL_NAME) else "")


def run_tool(request: ChatRequest, name: str, arguments: Any) -> str:
    """Run a tool the model called; its result as the JSON text sent back. An unknown tool or
    arguments that are not an object come back as an error for the model to read."""
    tool = request.tool(name)
    if tool is None:
        result: dict[str, Any] = {"error": f"there is no tool {name!r}; answer with {ANSWER_TOOL_NAME}"}
    else:
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments or "{}")
            except json.JSONDecodeError:
                arguments = None
        if not isinstance(arguments, dict):
            result = {"error": "the tool's arguments must be a JSON object"}
        else:
            result = tool.run(arguments)
    logger.info("chat tool called", extra={"tool": name, "error": result.get("error")})
    return json.dumps(result)


ANSWER_TOOL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "answer": {"type": "string", "description": "the answer for the agent, in plain language"},
        "answered": {"type": "boolean", "description": "false when the contract does not answer the question"},
        "quotes": {
            "type": "array",
            "items": {"type": "string"},
            "description": "passages of the contract the answer relies on, verbatim",
        },
    },
    "required": ["answer", "answered", "quotes"],
    "additionalProperties": False,
}

_CONTRACT_FACTS = (
    ("account_number", "Account number"),
    ("customer_name", "Customer"),
    ("vehicle", "Vehicle"),
    ("dealer", "Dealer"),
    ("lender", "Lender"),
    ("contract_start_date", "Contract start date"),
    ("term_months", "Term (months)"),
    ("state", "State"),
)
_FIELD_LABELS = {
    "gap_insurance_premium": "GAP premium",
    "refund_calculation_method": "Refund calculation method",
    "cancellation_fee": "Cancellation fee",
}


def context_text(request: ChatRequest) -> str:
    """The last user turn: contract facts, extracted values, passages, then the question."""
    lines = ["Contract details:"]
    for key, label in _CONTRACT_FACTS:
        value = request.contract.get(key)
        if value not in (None, "", {}):
            lines.append(f"- {label}: {_plain(value)}")
    extraction = request.extraction
    if extraction:
        status = extraction.get("status")
        heading = "approved by a reviewer" if status == "approved" else "extracted automatically, not yet reviewed"
        lines += ["", f"Extracted values ({heading}):"]
        for name, label in _FIELD_LABELS.items():
            item = (extraction.get("fields") or {}).get(name) or {}
            value = item.get("value")
            lines.append(f"- {label}: {value if value is not None else 'not stated in the contract'}")
    else:
        lines += ["", "Extracted values: none yet."]
    lines += ["", "Passages of the contract most relevant to the question:"]
    if request.passages:
        for passage in request.passages:
            lines.append(f'<passage start="{passage.start}" end="{passage.end}">\n{passage.text}\n</passage>')
    else:
        lines.append("(the contract's text is not available)")
    lines += ["", f"{QUESTION_MARKER} {request.question}"]
    return "\n".join(lines)


def _plain(value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(str(v) for k, v in value.items() if v not in (None, "") and k != "vin") + (
            f" (VIN {value['vin']})" if value.get("vin") else ""
        )
    return str(value)


def conversation(request: ChatRequest) -> list[dict[str, str]]:
    """Alternating user/assistant turns ending with the context turn.

    Anthropic and Bedrock require turns to alternate and to start with the user, so adjacent
    turns of one role are joined and a history that opens with the assistant gets a short
    user turn before it.
    """
    turns: list[dict[str, str]] = []
    for turn in request.history:
        if turn.role not in ("user", "assistant") or not turn.content.strip():
            continue
        if not turns and turn.role == "assistant":
            turns.append({"role": "user", "content": "(earlier conversation)"})
        if turns and turns[-1]["role"] == turn.role:
            turns[-1]["content"] += "\n\n" + turn.content
        else:
            turns.append({"role": turn.role, "content": turn.content})
    context = context_text(request)
    if turns and turns[-1]["role"] == "user":
        turns[-1]["content"] += "\n\n" + context
    else:
        turns.append({"role": "user", "content": context})
    return turns


def answer_from_arguments(arguments: Any) -> tuple[str, tuple[str, ...], bool]:
    """Read the tool's arguments (a JSON string or an object); ProviderError when malformed."""
    arguments = arguments_object(arguments, "chat answer")
    text = arguments.get("answer")
    if not isinstance(text, str) or not text.strip():
        raise ProviderError("the provider's chat answer has no answer text", retryable=True)
    answered = arguments.get("answered", True)
    if not isinstance(answered, bool):
        raise ProviderError("the provider's chat answer has a non-boolean 'answered'", retryable=True)
    quotes = arguments.get("quotes") or []
    if not isinstance(quotes, list):
        raise ProviderError("the provider's chat answer has quotes that are not a list", retryable=True)
    return text.strip(), tuple(q for q in quotes if isinstance(q, str) and q.strip()), answered
