"""The console's routes: pages (public shells), the single sign-on settings, the assets."""

from __future__ import annotations

import hashlib
import logging
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    jsonify,
    render_template,
    request,
    send_from_directory,
    url_for,
)

from api.auth import public
from api.current import settings
from api.middleware import not_audited
from pipeline.identity.errors import ProviderUnavailable

logger = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
ASSET_MAX_AGE = 365 * 24 * 3600  # URLs carry the file's hash: a changed file is a new URL
SSO_SCOPE = "openid email profile"

blp = Blueprint("console", __name__, template_folder="templates")
# Pages and assets are not contract data; the API calls they make are audited as themselves.
blp.before_request(not_audited)

# (endpoint, path, title, roles that see it in the navigation; empty: everyone signed in)
PAGES = (
    ("home", "/", "Home", ()),
    ("agent", "/agent", "Contracts", ("agent", "admin")),
    ("queue", "/queue", "Review queue", ("agent", "admin")),
    ("batches", "/batches", "Batches", ("operator", "admin")),
    ("audit", "/audit", "Audit trail", ("auditor", "admin")),
    ("admin", "/admin", "Users and tokens", ("admin",)),
)


@lru_cache(maxsize=None)
def _asset_version(filename: str) -> str:
    path = STATIC / filename
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.is_file() else "0"


def asset_url(filename: str) -> str:
    return url_for("console.asset", filename=filename, v=_asset_version(filename))


def _sso() -> dict:
    """What the browser needs for single sign-on, or why it is not offered."""
    s = settings()
    if not (s.oidc_issuer and s.oidc_client_id):
        return {"enabled": False}
    from pipeline.identity import oidc

    try:
        endpoints = oidc.get_verifier(s).browser_endpoints()
    except ProviderUnavailable as exc:
        logger.warning("single sign-on unavailable: %s", exc.reason)
        return {"enabled": False, "unavailable": True, "message": "Single sign-on is unavailable: the identity provider cannot be reached. Try again in a moment, or sign in with an API token."}
    return {"enabled": True, "issuer": s.oidc_issuer, "client_id": s.oidc_client_id, "scope": SSO_SCOPE, **endpoints}


def _csp(sso: dict | None) -> str:
    connect = ["'self'"]
    if sso and sso.get("enabled"):
        # The browser exchanges the sign-in code for tokens at the provider itself (PKCE).
        parts = urlsplit(sso["token_endpoint"])
        connect.append(f"{parts.scheme}://{parts.netloc}")
    return "; ".join((
        "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:",
        f"connect-src {' '.join(connect)}", "object-src 'none'", "base-uri 'none'", "form-action 'self'",
        "frame-ancestors 'none'",
    ))


def _page(template: str, endpoint: str) -> Response:
    from pipeline.refunds import REASONS

    sso = _sso()
    page_roles = next(roles for name, _path, _label, roles in PAGES if name == endpoint)
    body = render_template(
        f"console/{template}", pages=PAGES, current=endpoint, page_roles=page_roles, asset_url=asset_url, sso=sso,
        refund_reasons=[(code, text[:1].upper() + text[1:]) for code, text in REASONS.items()],
    )
    response = Response(body, mimetype="text/html")
    response.headers["Content-Security-Policy"] = _csp(sso)
    response.headers["Cache-Control"] = "no-cache"
    return response


@blp.after_request
def _hardening(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", _csp(None))
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    return response


@blp.route("/")
@public
def home():
    """The console: sign in, then the pages your role may use."""
    return _page("home.html", "home")


@blp.route("/agent")
@public
def agent():
    """Find a contract by account number; its extraction, quotes, review, refund quote and chat."""
    return _page("agent.html", "agent")


@blp.route("/queue")
@public
def queue():
    """Pending extractions, least confident first, reviewed from the keyboard."""
    return _page("queue.html", "queue")


@blp.route("/batches")
@public
def batches():
    """Start batches, follow them, download their results."""
    return _page("batches.html", "batches")


@blp.route("/audit")
@public
def audit():
    """A contract's or extraction's audit trail."""
    return _page("audit.html", "audit")


@blp.route("/admin")
@public
def admin():
    """Users and API tokens."""
    return _page("admin.html", "admin")


@blp.route("/sign-in/callback")
@public
def sign_in_callback():
    """Where the identity provider sends the browser back with a code (PKCE)."""
    return _page("callback.html", "home")


@blp.route("/console/sso.json")
@public
def sso_settings():
    """Single sign-on settings for the browser (no secrets: the console is a public client)."""
    response = jsonify(_sso())
    response.headers["Cache-Control"] = "no-cache"
    return response


@blp.route("/console/static/<path:filename>")
@public
def asset(filename: str):
    """The console's scripts and styles; cached for a year when asked for by their versioned URL."""
    if not (STATIC / filename).is_file():
        abort(404)
    versioned = request.args.get("v") == _asset_version(filename)
    response = send_from_directory(STATIC, filename, max_age=ASSET_MAX_AGE if versioned else 0)
    if versioned:
        response.headers["Cache-Control"] = f"public, max-age={ASSET_MAX_AGE}, immutable"
    else:
        response.headers["Cache-Control"] = "no-cache"
    return response
