"""A loopback LLM provider simulator for tests and benchmarks (OpenAI, Anthropic, Bedrock Converse).

The real SDKs talk to it over HTTP on 127.0.0.1, so their retry, timeout and parsing code runs as
in production while nothing reaches the internet. See ``server.py`` for endpoints and fault
semantics, ``brain.py`` for what it answers, ``formats.py`` for the wire shapes.
"""

from tests.simulator.brain import (
    AnswerBrain, Brain, ChatBrain, ToolBrain, default_answer_brain, default_brain, default_chat_brain, default_tool_brain,
)
from tests.simulator.formats import FAMILIES, MALFORMED_JSON_TEXT, MALFORMED_TOOL_INPUT
from tests.simulator.server import ANY_FAMILY, FAULT_KINDS, RequestRecord, Simulator

__all__ = [
    "ANY_FAMILY",
    "FAMILIES",
    "FAULT_KINDS",
    "MALFORMED_JSON_TEXT",
    "MALFORMED_TOOL_INPUT",
    "AnswerBrain",
    "Brain",
    "ChatBrain",
    "RequestRecord",
    "Simulator",
    "ToolBrain",
    "default_answer_brain",
    "default_brain",
    "default_chat_brain",
    "default_tool_brain",
]
