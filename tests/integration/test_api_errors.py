"""Every failing request gets the shared error body; the framework's own errors included."""

import marshmallow as ma
import pytest
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import func, select

from api import db as api_db
from api.auth import roles
from models import AuditEvent
from pipeline import audit
from pipeline.core.errors import Conflict
from pipeline.identity.roles import ROLES

ERROR_KEYS = {"status", "code", "message", "request_id"}


class EchoSchema(ma.Schema):
    account_number = ma.fields.String(required=True)


def _probe_blueprint():
    """A resource registered by the test, exercising the app-wide handlers like any real one."""
    blp = Blueprint("probe", __name__)

    @blp.route("/echo")
    class Echo(MethodView):
        @roles(*ROLES)
        @blp.arguments(EchoSchema)
        @blp.response(200, EchoSchema)
        def post(self, body):
            return body

    @blp.route("/write-then-conflict")
    class WriteThenConflict(MethodView):
        @roles(*ROLES)
        def post(self):
            audit.record(session=api_db.session(), event_type="admin", data={"probe": True})
            api_db.session().flush()
            raise Conflict("already approved")

    @blp.route("/write")
    class Write(MethodView):
        @roles(*ROLES)
        def post(self):
            audit.record(session=api_db.session(), event_type="admin", data={"probe": True})
            return {"ok": True}

    @blp.route("/boom")
    class Boom(MethodView):
        @roles(*ROLES)
        def get(self):
            raise RuntimeError("secret internals")

    return blp


@pytest.fixture
def probe_client(app):
    app.extensions["cre_api"].register_blueprint(_probe_blueprint(), url_prefix="/api/v1/probe")
    return app.test_client()


def _assert_error(response, status, code):
    assert response.status_code == status, response.data
    body = response.get_json()
    assert ERROR_KEYS <= set(body), body
    assert body["status"] == status and body["code"] == code
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


def test_unknown_route_is_a_json_404(client):
    body = _assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")
    assert "/docs" in body["message"]


def test_wrong_method_is_a_json_405_with_allow(client):
    response = client.delete("/health")
    _assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_malformed_json_is_a_400_saying_so(probe_client):
    response = probe_client.post("/api/v1/probe/echo", data='{"account_number": ', content_type="application/json")
    body = _assert_error(response, 400, "bad_request")
    assert "not valid JSON" in body["message"]


def test_missing_field_is_a_422_with_field_details(probe_client):
    body = _assert_error(probe_client.post("/api/v1/probe/echo", json={}), 422, "validation_error")
    assert body["details"]["json"]["account_number"] == ["Missing data for required field."]


def test_oversized_body_is_a_413(probe_client, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = probe_client.post(
        "/api/v1/probe/echo", data='{"account_number": "' + "1" * limit + '"}', content_type="application/json"
    )
    _assert_error(response, 413, "payload_too_large")


def test_unexpected_error_is_a_500_without_internals(probe_client):
    response = probe_client.get("/api/v1/probe/boom")
    body = _assert_error(response, 500, "internal_error")
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert body["request_id"] in body["message"] or "request id" in body["message"]


def _audit_count(session_factory):
    """Events other than the requests' own (api_request, written even for a failed request)."""
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.event_type != "api_request"))


def test_a_domain_error_rolls_back_what_the_request_wrote(probe_client, session_factory):
    _assert_error(probe_client.post("/api/v1/probe/write-then-conflict"), 409, "conflict")
    assert _audit_count(session_factory) == 0


def test_a_successful_request_commits_once(probe_client, session_factory):
    response = probe_client.post("/api/v1/probe/write", headers={"X-Request-ID": "agent-desk-42"})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "agent-desk-42"
    with session_factory() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "admin")).one()
    assert event.request_id == "agent-desk-42"


def test_an_unsafe_request_id_is_replaced(client):
    response = client.get("/health", headers={"X-Request-ID": "bad id; with <spaces>"})
    assert response.headers["X-Request-ID"] != "bad id; with <spaces>"
    assert len(response.headers["X-Request-ID"]) == 32


def test_cors_allows_configured_origin_only(client):
    allowed = client.get("/health", headers={"Origin": "http://localhost:3000"})
    assert allowed.headers.get("Access-Control-Allow-Origin") == "http://localhost:3000"
    refused = client.get("/health", headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_openapi_document_and_docs_ui(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["info"]["title"] == "Contract Refund Eligibility"
    error_schema = spec["components"]["schemas"]["Error"]
    assert {"status", "code", "message", "details", "request_id"} <= set(error_schema["properties"])
    ready = spec["paths"]["/ready"]["get"]
    assert {"200", "503"} <= set(ready["responses"])
    assert ready["description"]
    page = client.get("/docs")
    assert page.status_code == 200 and b"swagger-ui" in page.data
    asset = client.get("/docs/static/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000


def test_a_database_lost_after_the_view_answers_503_not_500(app, client):
    """The request's audit event and commit run after the view; a connection that dies there
    (a database restart) is the same 503 with Retry-After as anywhere else."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from tests.conftest import TEST_DATABASE_URL

    blp = Blueprint("dying", __name__)

    @blp.route("/dying")
    class Dying(MethodView):
        @roles(*ROLES)
        def post(self):
            pid = api_db.session().execute(text("SELECT pg_backend_pid()")).scalar()
            admin = create_engine(TEST_DATABASE_URL, poolclass=NullPool)
            with admin.begin() as conn:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            admin.dispose()
            return {"ok": True}

    app.extensions["cre_api"].register_blueprint(blp, url_prefix="/api/v1/probe")
    response = client.post("/api/v1/probe/dying")
    body = _assert_error(response, 503, "unavailable")
    assert response.headers["Retry-After"] == "1" and "database" in body["message"]
    # The next request gets a fresh connection.
    assert client.get("/api/v1/me").status_code == 200


def test_options_lists_the_methods_of_the_matched_route_only(client):
    """/contracts/search is also matched by /contracts/{contract_id} (GET): its Allow says POST."""
    search = client.options("/api/v1/contracts/search", anonymous=True)
    assert set(search.headers["Allow"].replace(" ", "").split(",")) == {"POST", "OPTIONS"}
    contract = client.options("/api/v1/contracts/0b6c3f0e-2f6a-4c36-9d0e-6c1f4f6f8a11", anonymous=True)
    assert set(contract.headers["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "OPTIONS"}
