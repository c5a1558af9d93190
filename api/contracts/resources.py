"""Contracts: search by account number, read one, stream its PDF."""

from __future__ import annotations

from flask import Response, request, send_file
from flask.views import MethodView
from flask_smorest import Blueprint

from api import db as api_db
from api.auth import roles
from api.common import parse_id
from api.contracts.schemas import ContractDetailSchema, ContractSchema, SearchSchema
from api.current import settings
from pipeline import audit
from pipeline.contracts import documents
from pipeline.contracts import service as contracts
from pipeline.contracts.sources import get_source
from pipeline.core.cache import get_cache
from pipeline.core.errors import AppError
from pipeline.identity.roles import AGENTS

blp = Blueprint("contracts", __name__, description="Find a customer's GAP contract and read it.")

EXAMPLE_CONTRACT = {
    "contract_id": "0b6c3f0e-2f6a-4c36-9d0e-6c1f4f6f8a11",
    "account_number": "4350948342",
    "customer_name": "Maria Lopez",
    "dealer": "Sunrise Toyota",
    "lender": "First Auto Credit",
    "vehicle": {"year": 2022, "make": "Toyota", "model": "Camry", "vin": "4T1B11HK5JU123456"},
    "contract_start_date": "2023-04-15",
    "term_months": 60,
    "state": "TX",
    "text_status": "available",
    "has_pdf": True,
    "pdf_url": "/api/v1/contracts/0b6c3f0e-2f6a-4c36-9d0e-6c1f4f6f8a11/pdf",
    "source": "import",
    "extraction_status": "pending",
    "extraction": {
        "extraction_id": "5d1f9a3e-8b7c-4e2a-9f1d-3c2b1a0e9d8c",
        "status": "pending",
        "gap_insurance_premium": "795.00",
        "refund_calculation_method": "pro_rata",
        "cancellation_fee": "50.00",
        "approved_at": None,
    },
    "extraction_job": None,
    "created_at": "2026-11-28T09:00:00+00:00",
    "updated_at": "2026-11-28T09:00:00+00:00",
}


@blp.route("/search")
class Search(MethodView):
    @roles(*AGENTS)
    @blp.arguments(SearchSchema, example={"account_number": "4350948342"})
    @blp.response(200, ContractSchema, example=EXAMPLE_CONTRACT, headers={"X-Cache": {"description": "hit when answered from the cache", "schema": {"type": "string", "enum": ["hit", "miss"]}}})
    @blp.alt_response(404, description="No contract with this account number in the database or the contract source.")
    @blp.alt_response(422, description="The account number is malformed (letters, too short or too long).")
    @blp.alt_response(502, description="The external contract source failed or answered something unusable.")
    @blp.alt_response(504, description="The external contract source did not answer in time.")
    def post(self, body):
        """Find a contract by account number

        Looks in the cache (15 minutes), then the database, then the external contract source;
        a contract found there is stored. Every search is audited with its outcome.
        """
        s = settings()
        session = api_db.session()
        try:
            result = contracts.search(
                session=session,
                cache=get_cache(s),
                source=get_source(s),
                account_number=body["account_number"],
                ttl=s.cache_ttl_contract,
            )
        except AppError:
            # The search's audit event records the failure; nothing else was written.
            api_db.keep_on_error()
            raise
        return result.contract, 200, {"X-Cache": "hit" if result.via == "cache" else "miss"}


@blp.route("/<contract_id>")
class ContractById(MethodView):
    @roles(*AGENTS)
    @blp.response(200, ContractDetailSchema, example={**EXAMPLE_CONTRACT, "document_text": "GAP WAIVER ADDENDUM ..."})
    @blp.alt_response(404, description="No contract has this id.")
    @blp.alt_response(422, description="The id is not a UUID.")
    def get(self, contract_id):
        """Read a contract with its extraction

        The extraction's state is `none`, `pending` (extracted, not yet reviewed) or `approved`;
        a queued or running extraction job is named in `extraction_job`. Audited as `view`.
        """
        session = api_db.session()
        contract = contracts.get_or_raise(session=session, contract_id=parse_id(contract_id))
        audit.record(session=session, event_type="view", contract_id=contract.id, data={"what": "contract"})
        return contracts.detail(session=session, contract=contract)


@blp.route("/<contract_id>/pdf")
class ContractPdf(MethodView):
    @roles(*AGENTS)
    @blp.response(200, {"type": "string", "format": "binary"}, description="The PDF; `Range` requests get 206 with the part asked for.", content_type="application/pdf")
    @blp.alt_response(206, schema={"type": "string", "format": "binary"}, description="Partial content, for a `Range` request (`Content-Range` says which).", content_type="application/pdf")
    @blp.alt_response(304, description="Not modified (`If-None-Match` matched the ETag).")
    @blp.alt_response(404, description="No such contract, the contract has no PDF, or the object is missing from the store.")
    @blp.alt_response(416, description="The requested range is outside the document; `Content-Range: bytes */SIZE` gives its size.", headers={"Content-Range": {"description": "bytes */SIZE", "schema": {"type": "string"}}})
    @blp.alt_response(422, description="The id is not a UUID.")
    @blp.alt_response(502, description="S3 refused or could not be reached.")
    @blp.alt_response(504, description="S3 did not answer in time.")
    def get(self, contract_id):
        """Stream a contract's PDF

        From S3 (the contract's bucket and key) or the local PDF folder, with `Content-Length`,
        `ETag` and `Range` support. PDFs are cached for 15 minutes.
        """
        s = settings()
        session = api_db.session()
        contract = contracts.get_or_raise(session=session, contract_id=parse_id(contract_id))
        range_header = request.headers.get("Range")
        source = documents.open_pdf(contract=contract, settings=s, cache=get_cache(s), range_header=range_header)
        if not range_header or range_header.replace(" ", "").startswith("bytes=0-"):
            # A viewer fetches many ranges of one document; audit the opening, not every chunk.
            audit.record(session=session, event_type="view", contract_id=contract.id, data={"what": "pdf"})
        return _pdf_response(source, contract)


def _pdf_response(source: documents.PdfSource, contract) -> Response:
    filename = f"GAP-{contract.account_number}.pdf"
    if isinstance(source, documents.PdfLocalFile):
        return send_file(source.path, mimetype="application/pdf", conditional=True, download_name=filename)
    if isinstance(source, documents.PdfStream):
        response = Response(source.chunks, status=source.status, mimetype="application/pdf", direct_passthrough=True)
        response.headers["Content-Length"] = str(source.length)
        response.headers["Accept-Ranges"] = "bytes"
        if source.content_range:
            response.headers["Content-Range"] = source.content_range
    else:
        response = Response(source.data, mimetype="application/pdf")
        response.headers["X-Cache"] = "hit" if source.via == "cache" else "miss"
    response.set_etag(source.etag)
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    if isinstance(source, documents.PdfBytes):
        response.make_conditional(request, accept_ranges=True, complete_length=len(source.data))
    return response
