"""Refund quotes: the pure formulas and the state rules they apply (README.md, "Refund quotes").

``formulas`` and ``rules`` are pure (nothing does I/O except :func:`load_rules`, which reads the
rules file); ``service`` gathers a quote's inputs with their sources, stores and audits it;
``letter`` renders it as a PDF; ``portfolio`` runs batches of them as jobs. Chat offers the
calculator as a tool (``pipeline.chat.quotes``).
"""

from pipeline.refunds.formulas import (
    FORMULAS_VERSION,
    REASON_CODES,
    REASONS,
    BadInput,
    MissingInput,
    RefundQuote,
    Step,
    quote_refund,
)
from pipeline.refunds.rules import (
    RuleBook,
    RulesError,
    StateRule,
    default_rules,
    load_rules,
    parse_rules,
)

__all__ = [
    "FORMULAS_VERSION",
    "REASONS",
    "REASON_CODES",
    "BadInput",
    "MissingInput",
    "RefundQuote",
    "RuleBook",
    "RulesError",
    "StateRule",
    "Step",
    "default_rules",
    "load_rules",
    "parse_rules",
    "quote_refund",
]
