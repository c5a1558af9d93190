"""The refund quote calculator as a chat tool: "how much would they get back if they cancel today?"

A :class:`Quoter` belongs to one chat turn about one contract. Its tool computes quotes while the
provider answers (remote models call it, the local answerer calls it itself), reading the
contract's inputs in a short unit of work of its own on first use, so a turn that asks nothing
about refunds costs nothing. A quote is computed once per question (a retried provider call or the
local fallback asking the same gets the same quote and id). Only the quotes the answer names are
stored, with the answer, like any quote (origin ``chat``, audited); when a model used the tool but
did not name the quote, the answer is given its figure and id.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime, timezone
from typing import Any

from pipeline.core import db
from pipeline.core.errors import AppError
from pipeline.providers.base import ChatTool
from pipeline.providers.prompts.chat import QUOTE_TOOL_DESCRIPTION, QUOTE_TOOL_NAME, QUOTE_TOOL_SCHEMA
from pipeline.refunds import service
from pipeline.refunds.formulas import REASONS
from pipeline.core.settings import Settings

logger = logging.getLogger(__name__)


class Quoter:
    def __init__(self, *, settings: Settings, contract_id: uuid.UUID, today: date | None = None) -> None:
        self.settings = settings
        self.contract_id = contract_id
        self.today = today or datetime.now(timezone.utc).date()
        self._basis: service.Basis | None = None
        self._problem: AppError | None = None
        self._read = False
        self.drafts: dict[tuple[str, str, bool], service.Draft] = {}

    def tool(self) -> ChatTool:
        return ChatTool(name=QUOTE_TOOL_NAME, description=QUOTE_TOOL_DESCRIPTION, parameters=QUOTE_TOOL_SCHEMA, run=self.run)

    def _inputs(self) -> service.Basis | None:
        if not self._read:
            try:
                with db.unit_of_work(self.settings) as session:
                    self._basis = service.read_basis(session=session, contract_id=self.contract_id)
            except AppError as exc:
                self._problem = exc
            self._read = True
        return self._basis

    def run(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The tool: a quote's figures, steps, clause and id, or ``{"error": ...}`` saying why not."""
        raw_date = arguments.get("cancellation_date") or self.today.isoformat()
        try:
            when = date.fromisoformat(str(raw_date))
        except ValueError:
            return {"error": f"cancellation_date {str(raw_date)[:40]!r} is not a date like {self.today.isoformat()}"}
        reason = arguments.get("reason") or "customer_request"
        if reason not in REASONS:
            return {"error": f"reason must be one of {', '.join(REASONS)}"}
        claim_paid = arguments.get("claim_paid") is True
        key = (when.isoformat(), reason, claim_paid)
        if key not in self.drafts:
            basis = self._inputs()
            if basis is None:
                return {"error": self._problem.message if self._problem else "the contract cannot be quoted"}
            try:
                self.drafts[key] = service.compute(basis=basis, settings=self.settings, cancellation_date=when, reason=reason,
                                                   claim_paid=claim_paid, origin="chat")
            except AppError as exc:
                return {"error": exc.message}
        draft = self.drafts[key]
        return {
            **draft.summary(),
            "reason_words": REASONS[reason],
            "steps": [step.as_dict() for step in draft.quote.steps],
        }

    def cited(self, reply: str) -> tuple[str, list[service.Draft]]:
        """The quotes the answer names (the reply made to name the last one when it names none)."""
        made = list(self.drafts.values())
        if not made:
            return reply, []
        named = [draft for draft in made if str(draft.id) in reply]
        if not named:
            last = made[-1]
            reply = (f"{reply} (Refund quote {last.id}: {_dollars(last.refund)} if cancelled on "
                     f"{last.request['cancellation_date']}.)")
            named = [last]
        return reply, named


def _dollars(amount: Any) -> str:
    return f"${amount:,.2f}"
