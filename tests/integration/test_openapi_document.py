"""The OpenAPI document describes what the service sends: a valid document, uuid ids, stable
operation ids, the shared error body on every error response, media types of non-JSON answers,
and X-Pagination as the JSON text it is."""

from __future__ import annotations

import json

from openapi_spec_validator import validate


def _spec(client):
    return client.get("/openapi.json", anonymous=True).get_json()


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


def test_the_document_is_valid_openapi(client):
    validate(_spec(client))


def test_ids_in_paths_are_uuids_and_operation_ids_are_unique(client):
    spec = _spec(client)
    for path, item in spec["paths"].items():
        for parameter in item.get("parameters", []):
            if parameter["in"] == "path" and parameter["name"].endswith("_id"):
                assert parameter["schema"] == {"type": "string", "format": "uuid"}, path
    ids = [operation["operationId"] for _, _, operation in _operations(spec)]
    assert len(ids) == len(set(ids)) and all(ids)
    assert "contracts_search_post" in ids


def test_every_error_response_has_the_shared_body(client):
    spec = _spec(client)
    assert "Error" in spec["components"]["schemas"]
    for path, method, operation in _operations(spec):
        for status, response in operation["responses"].items():
            if status != "default" and int(status) >= 400 and "$ref" not in response:
                assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_media_types_of_the_pdf_the_event_stream_and_the_metrics(client):
    paths = _spec(client)["paths"]
    pdf = paths["/api/v1/contracts/{contract_id}/pdf"]["get"]["responses"]
    assert pdf["200"]["content"]["application/pdf"]["schema"]["format"] == "binary"
    assert "application/pdf" in pdf["206"]["content"] and "Content-Range" in pdf["416"]["headers"]
    assert "text/event-stream" in paths["/api/v1/jobs/{job_id}/events"]["get"]["responses"]["200"]["content"]
    assert "text/plain" in paths["/metrics"]["get"]["responses"]["200"]["content"]


def test_x_pagination_is_documented_as_the_json_text_that_is_sent(client):
    spec = _spec(client)
    header = spec["components"]["headers"]["PAGINATION"]
    assert header["schema"] == {"type": "string"}
    sent = client.get("/api/v1/admin/users").headers["X-Pagination"]
    assert set(json.loads(sent)) <= set(json.loads(header["example"])) | {"previous_page", "next_page"}
