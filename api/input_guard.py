"""Inputs the framework would choke on, refused before any view sees them, in the shared error body.

- JSON nested deeper than ``MAX_JSON_DEPTH`` levels: 400, checked on the raw bytes before parsing
  (the parser would recurse until the interpreter's stack gives out).
- NUL characters in any JSON string or key, query argument or path segment: 422 naming the field
  (PostgreSQL cannot store them in text, so they would fail deep inside a transaction).
- Page numbers beyond ``MAX_PAGE``: 422 from the pagination schema itself (the offset would
  overflow a bigint); see :func:`bound_page_numbers`, applied before the blueprints are built.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, g, request

from pipeline.core.errors import AppError, ValidationFailed

MAX_JSON_DEPTH = 64
MAX_PAGE = 1_000_000
_OPENERS = frozenset(b"[{")
_NUL_MESSAGE = "Must not contain NUL (\\u0000) characters."


class BadRequest(AppError):
    status = 400
    code = "bad_request"


def json_depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text, strings skipped."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in _OPENERS:
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def _nul_paths(value: Any, path: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(value, str):
        if "\x00" in value:
            found.append(path or "_body")
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                found.append(child.replace("\x00", "\\u0000"))
            found.extend(_nul_paths(item, child))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_nul_paths(item, f"{path}.{index}" if path else str(index)))
    return found


def check_request() -> None:
    """Refuse what no view could handle; raises an AppError (the shared error body)."""
    query = [name for name, value in request.args.items(multi=True) if "\x00" in value or "\x00" in name]
    path = [name for name, value in (request.view_args or {}).items() if isinstance(value, str) and "\x00" in value]
    if query or path:
        details = {"query": {n: [_NUL_MESSAGE] for n in query}} if query else {}
        if path:
            details["path"] = {n: [_NUL_MESSAGE] for n in path}
        raise ValidationFailed(f"{(query or path)[0]}: {_NUL_MESSAGE}", details=details)
    if not request.is_json or request.content_length == 0:
        return
    raw = request.get_data(cache=True)
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and json_depth(raw) > MAX_JSON_DEPTH:
        g.json_refused = True  # nothing after this may parse it either (the audit hook reads ids)
        raise BadRequest(f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels.")
    if b"\\u0000" not in raw and b"\x00" not in raw:
        return
    body = request.get_json(silent=True)
    fields = _nul_paths(body)
    if fields:
        raise ValidationFailed(f"{fields[0]}: {_NUL_MESSAGE}", details={"json": {f: [_NUL_MESSAGE] for f in fields}})


def init_app(app: Flask) -> None:
    app.before_request(check_request)


def bound_page_numbers() -> None:
    """Give every paginated list an upper bound on ``page`` (documented in OpenAPI as maximum).

    flask-smorest builds each list's pagination schema when the blueprints are imported, from a
    module-level factory; this wraps it once, before any blueprint is imported.
    """
    import marshmallow as ma
    from flask_smorest import pagination

    if getattr(pagination._pagination_parameters_schema_factory, "_cre_bounded", False):
        return
    original = pagination._pagination_parameters_schema_factory

    def factory(def_page, def_page_size, def_max_page_size):
        schema = original(def_page, def_page_size, def_max_page_size)
        schema._declared_fields["page"] = ma.fields.Integer(load_default=def_page, validate=ma.validate.Range(min=1, max=MAX_PAGE))
        return schema

    factory._cre_bounded = True
    pagination._pagination_parameters_schema_factory = factory
