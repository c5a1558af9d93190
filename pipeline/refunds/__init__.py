"""Refund quotes: the pure formulas and the state rules they apply (see README.md here).

Storage, the API, the letter and chat build on :func:`quote_refund`; nothing here does I/O except
:func:`load_rules`, which reads the rules file.
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
