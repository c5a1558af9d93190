"""The OpenAPI document says what the service does: an apispec plugin for what flask-smorest does
not describe on its own.

- Path ids (``{contract_id}``, ``{job_id}``, ...) are UUIDs: ``format: uuid`` (others get 422).
- Every operation has a stable ``operationId`` (``<blueprint>_<view>_<method>``) for client
  generators.
- Every error response (4xx/5xx) has the shared ``Error`` body.
- ``X-Pagination`` is documented as what is sent: a JSON text in a header.
- A schema's ``OPENAPI_EXTRA`` adds what its validators enforce (e.g. ``minProperties``).
"""

from __future__ import annotations

import re

from apispec import BasePlugin

ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
PAGINATION_HEADER = {
    "description": "Pagination metadata as a JSON text: total, total_pages, first_page, last_page, page, "
                   "previous_page and next_page (the last two only where there is such a page).",
    "schema": {"type": "string"},
    "example": '{"total": 120, "total_pages": 3, "first_page": 1, "last_page": 3, "page": 2, "previous_page": 1, "next_page": 3}',
}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower().replace("-", "_")


class DocumentMatchesService(BasePlugin):
    def schema_helper(self, name, definition, **kwargs):
        """A schema's ``OPENAPI_EXTRA`` (e.g. minProperties for what a validator enforces)."""
        extra = getattr(kwargs.get("schema"), "OPENAPI_EXTRA", None)
        return {**definition, **extra} if extra else None

    def path_helper(self, path=None, operations=None, parameters=None, **kwargs):
        for parameter in parameters or []:
            if parameter.get("in") == "path" and parameter.get("name", "").endswith("_id"):
                parameter["schema"] = {"type": "string", "format": "uuid"}
        return None

    def operation_helper(self, path=None, operations=None, **kwargs):
        rule = kwargs.get("rule")
        endpoint = rule.endpoint if rule is not None else (path or "").strip("/").replace("/", "_")
        for method, operation in (operations or {}).items():
            if not isinstance(operation, dict):
                continue
            operation.setdefault("operationId", "_".join(_snake(part) for part in endpoint.split(".")) + f"_{method}")
            for status, response in operation.get("responses", {}).items():
                if status == "default" or not str(status).isdigit() or int(status) < 400:
                    continue
                if isinstance(response, dict) and "$ref" not in response and "content" not in response:
                    response["content"] = ERROR_CONTENT


def describe_pagination_header(api) -> None:  # flask_smorest.Api
    """flask-smorest documents X-Pagination as an object; it is sent as a JSON string."""
    components = api.spec.components
    # Registered lazily (added to the document when first referred to): replace it where it is.
    target = components.headers_lazy if "PAGINATION" in components.headers_lazy else components.headers
    target["PAGINATION"] = PAGINATION_HEADER
