"""The HTTP API: a thin Flask app that validates, reads, writes small rows and enqueues jobs.

``create_app()`` is the factory used by gunicorn (``api:create_app()``) and by ``flask --app api``.
"""

from __future__ import annotations

import logging
import os
import sys

from flask import Flask, Response, request, send_from_directory

from api import auth, db, input_guard, middleware
from api.errors import Api
from api.openapi import DocumentMatchesService, describe_pagination_header
from api.version import __version__
from pipeline.core.logs import configure_logging
from pipeline.core.settings import ConfigError, Settings, get_settings
from pipeline.jobs import dispatch

logger = logging.getLogger(__name__)

input_guard.bound_page_numbers()  # before any blueprint module builds its pagination schema

API_PREFIX = "/api/v1"

API_DESCRIPTION = """
Contract Refund Eligibility: find a customer's GAP contract by account number, extract the GAP
premium, refund calculation method and cancellation fee with an LLM in a background job, review
and approve them, quote what a cancellation refunds (with every step and source, and as a letter),
and ask questions about the contract.

Sign in with `Authorization: Bearer <token>`: an API token (`flask --app api tokens create --user
EMAIL`; `make run` prints a development token) or a token from the lender's identity provider. Each
operation says which roles may call it (agent, operator, auditor, admin); a missing or bad token
answers 401, the wrong role 403.

Every error has the same JSON body: `status`, a stable `code`, a `message` for people, optional
`details` (field errors) and the `request_id`, which is also sent in the `X-Request-ID` header
and appears in every log line of the request and of the jobs it started.
"""


class App(Flask):
    """Flask, with OPTIONS answering the methods of the route the URL matched.

    Flask's own answer unites the methods of every route the URL could match: OPTIONS
    /api/v1/contracts/search also listed GET (of /contracts/{contract_id}), which the search
    does not support.
    """

    def make_default_options_response(self) -> Response:
        rule = request.url_rule
        if rule is None or not rule.methods:
            return super().make_default_options_response()
        response = self.response_class()
        methods = set(rule.methods)
        if "GET" in methods:
            methods.add("HEAD")
        response.allow.update(methods)
        return response


def _openapi_config(settings: Settings) -> dict:
    return {
        "API_TITLE": "Contract Refund Eligibility",
        "API_VERSION": __version__,
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        # Served from the installed swagger-ui bundle: the docs work with no internet access.
        "OPENAPI_SWAGGER_UI_URL": "/docs/static/",
        "API_SPEC_OPTIONS": {"info": {"description": API_DESCRIPTION.strip()}},
    }


def _register_docs_assets(app: Flask) -> None:
    import swagger_ui_bundle

    @app.route("/docs/static/<path:filename>")
    def swagger_static(filename: str):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename, max_age=86400)


def _install_dispatcher(settings: Settings) -> None:
    # The Celery app (not the task bodies) is the seam that sends job ids to the workers.
    from workers.celery_app import CeleryDispatcher, get_celery

    dispatch.install(CeleryDispatcher(get_celery(settings)))


def _refuse_production_without_sign_in(settings: Settings) -> None:
    """In production nobody could sign in without SSO or a token: say so at start, not per request."""
    if settings.app_env != "production" or settings.oidc_issuer:
        return
    if os.environ.get("FLASK_RUN_FROM_CLI") == "true" and sys.argv[1:2] != ["run"]:
        return  # commands (db upgrade, users create, tokens create) are how the first token is made
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from models import ApiToken
    from pipeline.core import db as pipeline_db

    try:
        with pipeline_db.unit_of_work(settings) as session:
            has_token = session.scalar(select(ApiToken.id).where(ApiToken.revoked_at.is_(None)).limit(1)) is not None
    except SQLAlchemyError as exc:
        logger.warning("could not check for API tokens at start (%s); /ready will say why", type(exc).__name__)
        return
    if not has_token:
        message = ("APP_ENV=production needs a way to sign in: set OIDC_ISSUER and OIDC_AUDIENCE, or create an "
                   "API token first (flask --app api users create ... then flask --app api tokens create --user EMAIL)")
        print(f"configuration error: {message}", file=sys.stderr)
        raise SystemExit(2)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the WSGI app; invalid configuration stops start-up with a message naming the variable."""
    if settings is None:
        try:
            settings = get_settings()
        except ConfigError as exc:
            print(f"configuration error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
    configure_logging(settings.log_level, settings.secrets())

    app = App(__name__)
    app.config.update(_openapi_config(settings))
    app.config["CRE_SETTINGS"] = settings
    app.json.sort_keys = False

    middleware.init_app(app, settings)
    db.init_app(app)
    middleware.init_audit(app, settings)  # after db: runs before the request's commit
    auth.init_app(app, settings)  # after the request id; before any view
    input_guard.init_app(app)

    api = Api(app, spec_kwargs={"extra_plugins": [DocumentMatchesService()]})
    app.extensions["cre_api"] = api
    auth.register_security_scheme(api)
    describe_pagination_header(api)
    _register_docs_assets(app)
    from api.health.resources import blp as health_blp

    api.register_blueprint(health_blp)
    from api.admin.prometheus import blp as prometheus_blp

    api.register_blueprint(prometheus_blp)
    for blueprint, prefix in _resource_blueprints():
        api.register_blueprint(blueprint, url_prefix=f"{API_PREFIX}{prefix}")

    from api.console.views import blp as console_blp

    app.register_blueprint(console_blp)  # a plain blueprint: the pages are not API operations

    _install_dispatcher(settings)
    _refuse_production_without_sign_in(settings)

    from api.cli import register_commands

    register_commands(app)
    logger.debug("app created", extra={"settings": settings.describe()})
    return app


def _resource_blueprints() -> tuple:
    """(blueprint, url prefix under /api/v1) for every resource."""
    from api.admin.resources import blp as admin_blp
    from api.audit.resources import blp as audit_blp
    from api.batches.resources import blp as batches_blp
    from api.chat.resources import blp as chat_blp
    from api.contracts.resources import blp as contracts_blp
    from api.extractions.resources import blp as extractions_blp
    from api.jobs.resources import blp as jobs_blp
    from api.refund_quotes.resources import blp as refund_quotes_blp
    from api.tokens.resources import blp as tokens_blp

    return ((contracts_blp, "/contracts"), (extractions_blp, "/extractions"), (jobs_blp, "/jobs"), (batches_blp, "/batches"), (admin_blp, "/admin"), (audit_blp, "/audit"), (chat_blp, "/chat"), (tokens_blp, ""), (refund_quotes_blp, ""))
