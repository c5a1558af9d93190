"""Who is calling, and may they: sign-in and roles for every request.

Every operation declares who may call it, with :func:`roles` (or :func:`public`) on the view
method; the declaration also goes into the OpenAPI document (the bearer scheme, ``x-roles`` and a
line in the description). A route that declares nothing is refused to everyone: deny by default,
and tests/integration/test_authorization.py fails for it.

Credentials come as ``Authorization: Bearer ...``: an API token (``cre_...``, checked against its
stored hash) or, when ``OIDC_ISSUER`` is set, a token from the lender's identity provider. Either
resolves to an active user whose role decides. Missing or bad credentials: 401 with
``WWW-Authenticate: Bearer`` (``error="invalid_token"`` when a token was sent); the wrong role: 403.

Abuse limits (Flask-Limiter): requests per signed-in user (anonymous callers per address), and a
tighter limit on failed sign-ins per client address; both answer 429 with ``Retry-After``.
"""

from __future__ import annotations

import inspect
import ipaddress
import logging
import math
import time
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g, request
from flask_limiter import Limiter
from limits import parse_many

from api import db as api_db
from pipeline.core.errors import Forbidden, TooManyRequests, Unauthenticated
from pipeline.core.logs import user_id_var
from pipeline.core.settings import Settings
from pipeline.identity import tokens
from pipeline.identity.roles import ROLES

logger = logging.getLogger(__name__)

SECURITY_SCHEME = "bearerAuth"
REALM = "Contract Refund Eligibility"
# Routes outside the API's blueprints that anyone may fetch: the docs and their assets.
PUBLIC_ENDPOINTS = frozenset({"static", "swagger_static", "api-docs.openapi_json", "api-docs.openapi_swagger_ui"})
# The marker of an operation open to anyone (distinct from "declared no roles").
PUBLIC: tuple[str, ...] = ()
ROLES_ATTR = "_cre_roles"
METRICS_ATTR = "_cre_metrics_allow_list"


@dataclass(frozen=True)
class Identity:
    """The signed-in caller, as the rest of the request sees it."""

    user_id: Any  # uuid.UUID
    email: str
    role: str
    method: str  # "token" or "oidc"
    token_id: Any = None

    def has(self, *allowed: str) -> bool:
        return self.role in allowed


def current() -> Identity | None:
    """The request's signed-in caller, or None on a public operation called anonymously."""
    return g.get("identity")


def current_user_id():  # uuid.UUID | None
    identity = current()
    return identity.user_id if identity is not None else None


# --- declarations -------------------------------------------------------------------------------


def roles(*allowed: str, metrics_allow_list: bool = False) -> Callable:
    """Declare the roles that may call a view method (``@roles("agent", "admin")``).

    ``metrics_allow_list``: clients in METRICS_ALLOW_FROM may also call it without a token.
    """
    for name in allowed:
        if name not in ROLES:
            raise ValueError(f"unknown role {name!r}; roles are {', '.join(ROLES)}")

    def decorator(func: Callable) -> Callable:
        setattr(func, ROLES_ATTR, tuple(allowed))
        if metrics_allow_list:
            setattr(func, METRICS_ATTR, True)
        doc = deepcopy(getattr(func, "_apidoc", {}))
        manual = doc.setdefault("manual_doc", {})
        if allowed:
            manual["security"] = [{SECURITY_SCHEME: []}]
            manual["x-roles"] = list(allowed)
            who = "Roles: " + ", ".join(allowed) + "."
            if metrics_allow_list:
                who += " Addresses in METRICS_ALLOW_FROM may read it without a token."
        else:
            manual["security"] = []
            manual["x-roles"] = []
            who = "Public: no sign-in needed."
        func._apidoc = doc
        func.__doc__ = inspect.cleandoc(func.__doc__ or "") + "\n\n" + who
        return func

    return decorator


def public(func: Callable) -> Callable:
    """Declare a view method open to anyone (probes, the docs)."""
    return roles()(func)


def declared_roles(endpoint: str, method: str) -> tuple[str, ...] | None:
    """The roles declared for an endpoint and method; None when it declares nothing."""
    view = current_app.view_functions.get(endpoint)
    if view is None:
        return None
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        name = "get" if method == "HEAD" and not hasattr(view_class, "head") else method.lower()
        target = getattr(view_class, name, None)
    else:
        target = view
    return getattr(target, ROLES_ATTR, None) if target is not None else None


def _allows_metrics_addresses(endpoint: str, method: str) -> bool:
    view = current_app.view_functions.get(endpoint)
    view_class = getattr(view, "view_class", None)
    target = getattr(view_class, method.lower(), None) if view_class is not None else view
    return bool(getattr(target, METRICS_ATTR, False))


# --- checking credentials ------------------------------------------------------------------------


def _challenge(message: str, *, token_sent: bool) -> Unauthenticated:
    value = f'Bearer realm="{REALM}"'
    if token_sent:
        value += ', error="invalid_token", error_description="' + message.replace('"', "'") + '"'
    error = Unauthenticated(message, headers={"WWW-Authenticate": value})
    if token_sent:
        error.code = "invalid_token"
    return error


def _bearer() -> str | None:
    """The bearer credential of the request; raises 401 for an Authorization header of another kind."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, credential = header.strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise _challenge("Send credentials as 'Authorization: Bearer <token>'.", token_sent=True)
    return credential


def authenticate(credential: str, settings: Settings) -> Identity:
    """The user behind a bearer credential; raises 401 (bad credential), 403 (unknown identity) or
    503 (the identity provider cannot be reached)."""
    session = api_db.session()
    if tokens.looks_like_token(credential):
        check = tokens.authenticate(session=session, token=credential)
        if check.user is None:
            raise _challenge(check.problem or "The token is not valid.", token_sent=True)
        return Identity(check.user.id, check.user.email, check.user.role, "token", check.token.id)
    if settings.oidc_issuer:
        return _authenticate_oidc(credential, settings, session)
    raise _challenge("The token is not valid.", token_sent=True)


def _authenticate_oidc(credential: str, settings: Settings, session) -> Identity:  # Session
    from pipeline.identity import oidc, sso
    from pipeline.identity.errors import (
        AccountDisabled,
        InvalidToken,
        ProviderUnavailable,
    )

    try:
        identity = oidc.verify_token(credential, settings)
        user = sso.resolve_user(session=session, identity=identity, settings=settings)
    except (InvalidToken, AccountDisabled) as exc:
        challenge = _challenge(exc.message, token_sent=True)
        challenge.code = exc.code
        raise challenge from None
    except ProviderUnavailable as exc:
        logger.warning("identity provider unavailable: %s", exc.reason)
        exc.headers = {"Retry-After": "5"}
        raise
    return Identity(user.id, user.email, user.role, "oidc")


# --- the request hooks ----------------------------------------------------------------------------


def _client_address() -> str:
    return request.remote_addr or "unknown"


def _in_networks(address: str, networks: tuple[str, ...]) -> bool:
    if not networks:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net) for net in networks)


class SignInGuard:
    """Counts failed sign-ins per client address; refuses an address over its limit (429)."""

    def __init__(self, limiter: Limiter, limit: str) -> None:
        self._limiter = limiter
        self._items = parse_many(limit) if limit else []

    def check(self, address: str) -> None:
        strategy = self._limiter.limiter
        for item in self._items:
            try:
                allowed = strategy.test(item, "sign-in-failures", address)
            except Exception:  # storage down: fail open, like the request limits (logged)
                logger.warning("rate-limit storage unavailable; failed sign-ins not limited", exc_info=True)
                return
            if not allowed:
                reset, _remaining = strategy.get_window_stats(item, "sign-in-failures", address)
                wait = max(1, math.ceil(reset - time.time()))
                raise TooManyRequests(
                    f"Too many failed sign-ins from this address; try again in {wait} s.",
                    headers={"Retry-After": str(wait)},
                )

    def failed(self, address: str) -> None:
        for item in self._items:
            try:
                self._limiter.limiter.hit(item, "sign-in-failures", address)
            except Exception:
                logger.warning("rate-limit storage unavailable; failed sign-in not counted", exc_info=True)
                return


def _limit_key() -> str:
    identity = g.get("identity")
    return f"user:{identity.user_id}" if identity is not None else f"addr:{_client_address()}"


def _exempt_from_limits() -> bool:
    # Probes, docs and preflights are never limited: a load balancer must always reach /health.
    return request.method == "OPTIONS" or request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None or (
        declared_roles(request.endpoint, request.method) == PUBLIC
    )


def _storage_uri(settings: Settings) -> str:
    if settings.rate_limit_storage_url:
        return settings.rate_limit_storage_url
    if settings.redis_url:
        return settings.redis_url
    return "memory://"


def init_app(app: Flask, settings: Settings) -> Limiter:
    """Register the sign-in hook and the rate limits (the sign-in hook runs first)."""
    limiter = Limiter(
        key_func=_limit_key,
        default_limits=[settings.rate_limit_per_identity] if settings.rate_limit_per_identity else [],
        default_limits_exempt_when=_exempt_from_limits,
        storage_uri=_storage_uri(settings),
        storage_options={"socket_timeout": 2, "socket_connect_timeout": 2} if _storage_uri(settings).startswith("redis") else {},
        headers_enabled=True,
        swallow_errors=True,
        key_prefix="cre-limits",
        enabled=bool(settings.rate_limit_per_identity or settings.rate_limit_sign_in_failures),
    )
    guard = SignInGuard(limiter, settings.rate_limit_sign_in_failures)

    @app.before_request
    def _sign_in() -> None:
        g.identity = None
        if request.method == "OPTIONS" or request.endpoint is None:
            return  # preflights carry no credentials; unknown URLs and methods answer 404/405
        endpoint = request.endpoint
        allowed = PUBLIC if endpoint in PUBLIC_ENDPOINTS else declared_roles(endpoint, request.method)
        credential = None if allowed == PUBLIC else _bearer()
        if allowed == PUBLIC:
            _try_optional_identity(settings)
            return
        if credential is None:
            if allowed and _allows_metrics_addresses(endpoint, request.method) and _in_networks(_client_address(), settings.metrics_allow_from):
                return
            raise _challenge("Sign in: send 'Authorization: Bearer <token>' (an API token or a token from your identity provider).", token_sent=False)
        address = _client_address()
        guard.check(address)
        try:
            identity = authenticate(credential, settings)
        except Unauthenticated:
            guard.failed(address)
            raise
        _bind(identity)
        if allowed is None:
            logger.error("endpoint %s declares no roles; refused to everyone", endpoint)
            raise Forbidden("This operation is not open to any role.")
        if identity.role not in allowed:
            raise Forbidden(f"Your role ({identity.role}) may not do this; it needs one of: {', '.join(allowed)}.")

    @app.teardown_request
    def _sign_out(_exc: BaseException | None) -> None:
        token = g.pop("user_token", None)
        if token is not None:
            user_id_var.reset(token)

    limiter.init_app(app)
    app.extensions["cre_limiter"] = limiter
    return limiter


def _bind(identity: Identity) -> None:
    g.identity = identity
    g.user_token = user_id_var.set(str(identity.user_id))


def _try_optional_identity(settings: Settings) -> None:
    """On a public operation a valid credential still names the caller (e.g. /ready's details)."""
    header = request.headers.get("Authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        return
    try:
        _bind(authenticate(credential.strip(), settings))
    except Exception:  # a public answer never fails because of a bad credential
        g.identity = None


def register_security_scheme(api) -> None:  # flask_smorest.Api
    api.spec.components.security_scheme(SECURITY_SCHEME, {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token (`flask --app api tokens create --user EMAIL`; `make run` prints one) "
                       "or an access/ID token from the identity provider named by OIDC_ISSUER.",
    })
