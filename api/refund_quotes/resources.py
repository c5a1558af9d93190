"""Refund quotes: what a contract refunds for one cancellation, stored, listed, and as a letter."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from pipeline.core.logs import get_request_id

from api import db as api_db
from api.auth import roles
from api.contracts.resources import parse_id
from api.current import settings
from api.refund_quotes.schemas import EXAMPLE_QUOTE, CreateQuoteSchema, QuoteSchema
from pipeline import audit
from pipeline.contracts import service as contracts
from pipeline.identity.roles import AGENTS
from pipeline.refunds import letter, service

blp = Blueprint(
    "refund-quotes", __name__,
    description="Refund quotes: what a GAP contract refunds for a cancellation, step by step, with every input's source.",
)

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@blp.route("/contracts/<contract_id>/refund-quotes")
class ContractQuotes(MethodView):
    @roles(*AGENTS)
    @blp.arguments(CreateQuoteSchema, example={"cancellation_date": "2026-11-20", "reason": "payoff", "odometer": 41250, "claim_paid": False})
    @blp.response(201, QuoteSchema, example=EXAMPLE_QUOTE,
                  headers={"Location": {"description": "the stored quote", "schema": {"type": "string"}}})
    @blp.alt_response(404, description="No contract has this id.")
    @blp.alt_response(409, description="The contract has no extraction yet (`extraction_required`: extract it first), or its record has no start date or term, or its extraction no premium (`quote_inputs_missing`, `details.missing` names them).")
    @blp.alt_response(422, description="A malformed id, date or body, an unknown field or reason, a cancellation before the coverage started, or an actuarial contract (`missing_input`: the APR is not on the record).")
    def post(self, body, contract_id):
        """Quote a refund

        What the customer gets back if the GAP coverage ends on `cancellation_date` for `reason`:
        eligibility with a reason code and a sentence, the refund, the unearned charge, the fee,
        the method and factor, every step in words and figures, every input with its source (the
        extraction's values and quotes, a reviewer's corrections, the contract's start date, term
        and state, the state rule with its citation) and warnings. Approved extraction values are
        used; pending ones too, with the warning `extraction not yet reviewed`. The quote is
        stored and audited (`refund_quote`), and never changes: asking again makes a new one.
        """
        quote = service.create(
            session=api_db.session(),
            settings=settings(),
            contract_id=parse_id(contract_id),
            cancellation_date=body["cancellation_date"],
            reason=body["reason"],
            claim_paid=body["claim_paid"],
            odometer=body.get("odometer"),
            request_id=get_request_id(),
        )
        location = f"/api/v1/refund-quotes/{quote.id}"
        return service.view(quote), 201, {"Location": location}

    @roles(*AGENTS)
    @blp.response(200, QuoteSchema(many=True), example=[EXAMPLE_QUOTE])
    @blp.paginate(page_size=PAGE_SIZE, max_page_size=MAX_PAGE_SIZE)
    @blp.alt_response(404, description="No contract has this id.")
    @blp.alt_response(422, description="The id is not a UUID, or a bad page or page_size.")
    def get(self, contract_id, pagination_parameters):
        """List a contract's quotes

        Newest first; page with `page` and `page_size`, the totals are in the `X-Pagination` header.
        """
        rows, total = service.list_for_contract(
            session=api_db.session(), contract_id=parse_id(contract_id),
            page=pagination_parameters.page, page_size=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = total
        return [service.view(row) for row in rows]


@blp.route("/refund-quotes/<quote_id>")
class QuoteById(MethodView):
    @roles(*AGENTS)
    @blp.response(200, QuoteSchema, example=EXAMPLE_QUOTE)
    @blp.alt_response(404, description="No quote has this id.")
    @blp.alt_response(422, description="The id is not a UUID.")
    def get(self, quote_id):
        """Read a quote

        The quote as it was made: figures, steps, inputs with their sources, warnings.
        """
        session = api_db.session()
        quote = service.get_or_raise(session=session, quote_id=parse_id(quote_id, "quote_id"))
        audit.record(session=session, event_type="view", contract_id=quote.contract_id, extraction_id=quote.extraction_id,
                     data={"what": "refund_quote", "quote_id": str(quote.id)})
        return service.view(quote)


@blp.route("/refund-quotes/<quote_id>/letter.pdf")
class QuoteLetter(MethodView):
    @roles(*AGENTS)
    @blp.response(
        200, {"type": "string", "format": "binary"}, content_type="application/pdf",
        description="The letter (`application/pdf`, one page), as an attachment.",
        headers={"Content-Disposition": {"description": 'attachment; filename="refund-quote-ACCOUNT-DATE.pdf"', "schema": {"type": "string"}}},
    )
    @blp.alt_response(404, description="No quote has this id.")
    @blp.alt_response(422, description="The id is not a UUID.")
    def get(self, quote_id):
        """Download a quote as a letter

        One page an agent can send the customer: the contract and customer, the dates, the refund,
        each step, and the contract's refund clause, quoted. Audited as `view`.
        """
        session = api_db.session()
        quote = service.get_or_raise(session=session, quote_id=parse_id(quote_id, "quote_id"))
        contract = contracts.get_or_raise(session=session, contract_id=quote.contract_id)
        data = letter.render(quote, contract)
        audit.record(session=session, event_type="view", contract_id=quote.contract_id, extraction_id=quote.extraction_id,
                     data={"what": "refund_quote_letter", "quote_id": str(quote.id)})
        response = Response(data, mimetype="application/pdf")
        response.headers["Content-Disposition"] = f'attachment; filename="{letter.filename(quote, contract)}"'
        response.headers["Cache-Control"] = "private, no-store"
        return response
