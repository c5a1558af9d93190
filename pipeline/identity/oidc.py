"""Verify OpenID Connect tokens (access or ID tokens) from the lender's identity provider.

A token is accepted when:

- its header's ``alg`` is in ``OIDC_ALGORITHMS`` (public-key algorithms only; ``none`` and HS*
  are refused by the settings) and fits the type of the key it names (an RSA key verifies only
  RS*/PS*, a P-256 key only ES256, ...), so a token cannot pick how it is checked;
- its signature verifies with the key its ``kid`` names in the provider's JWKS;
- ``iss`` equals ``OIDC_ISSUER`` exactly, ``aud`` names one of ``OIDC_AUDIENCE``;
- ``exp`` is in the future and ``nbf`` and ``iat`` (when present) in the past, give or take
  ``OIDC_LEEWAY_SECONDS``; ``sub`` is present.

Keys come from ``OIDC_JWKS_URL`` or, when that is empty, from the ``jwks_uri`` of the provider's
discovery document (``{issuer}/.well-known/openid-configuration``, fetched once per process). The
key set is cached. A token naming a key id the cache does not hold makes the verifier fetch the
set again (the provider rotated its keys), but never sooner than ``OIDC_JWKS_MIN_REFRESH_SECONDS``
after the previous fetch, so tokens with made-up key ids cannot make it hammer the provider. The
set is also re-read once it is an hour old; if the provider is down then, the known keys stay
in use.

Failures raise :class:`InvalidToken` (401) or, when the provider cannot be reached and no key
is known for the token, :class:`ProviderUnavailable` (503).

Each process builds one verifier per configuration: :func:`get_verifier`.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import jwt
import urllib3
from jwt.exceptions import (
    DecodeError,
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAlgorithmError,
    InvalidAudienceError,
    InvalidIssuedAtError,
    InvalidIssuerError,
    InvalidKeyError,
    InvalidSignatureError,
    MissingRequiredClaimError,
    PyJWKError,
    PyJWTError,
)
from urllib3.util import Timeout

from pipeline.core.settings import Settings, get_settings, is_loopback_host
from pipeline.identity.errors import InvalidToken, ProviderUnavailable

__all__ = [
    "InvalidToken",
    "OidcConfig",
    "OidcIdentity",
    "OidcVerifier",
    "ProviderUnavailable",
    "get_verifier",
    "looks_like_jwt",
    "reset_verifiers",
    "verify_token",
]

logger = logging.getLogger(__name__)

# Larger tokens are refused before any parsing (real ones are a few kilobytes).
MAX_TOKEN_CHARS = 16 * 1024
# Discovery documents and key sets larger than this are refused (real ones are a few kilobytes).
MAX_DOCUMENT_BYTES = 512 * 1024
# A key set older than this is fetched again on the next token (keys the provider withdrew go).
JWKS_MAX_AGE_SECONDS = 3600
# The users table's auth_provider_user_id column holds this many characters.
MAX_SUBJECT_CHARS = 255

# Which key type (and curve) each algorithm may be verified with.
_KEY_TYPES: dict[str, tuple[str, tuple[str, ...] | None]] = {
    **{f"{family}{bits}": ("RSA", None) for family in ("RS", "PS") for bits in (256, 384, 512)},
    "ES256": ("EC", ("P-256",)),
    "ES256K": ("EC", ("secp256k1",)),
    "ES384": ("EC", ("P-384",)),
    "ES512": ("EC", ("P-521",)),
    "EdDSA": ("OKP", ("Ed25519", "Ed448")),
}


@dataclass(frozen=True)
class OidcConfig:
    """What a verifier needs from the settings (and the key of the per-process cache)."""

    issuer: str
    audience: tuple[str, ...]
    algorithms: tuple[str, ...]
    jwks_url: str = ""
    roles_claim: str = ""
    leeway_seconds: int = 60
    min_refresh_seconds: int = 30
    http_timeout: float = 5

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcConfig | None:
        """The configuration, or None when single sign-on is off (no OIDC_ISSUER)."""
        if not settings.oidc_issuer:
            return None
        return cls(
            issuer=settings.oidc_issuer,
            audience=settings.oidc_audience,
            algorithms=settings.oidc_algorithms,
            jwks_url=settings.oidc_jwks_url,
            roles_claim=settings.oidc_roles_claim,
            leeway_seconds=settings.oidc_leeway_seconds,
            min_refresh_seconds=settings.oidc_jwks_min_refresh_seconds,
            http_timeout=settings.oidc_http_timeout,
        )

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


@dataclass(frozen=True)
class OidcIdentity:
    """Who a verified token says the caller is."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None
    preferred_username: str | None
    # Every value of the roles claim (OIDC_ROLES_CLAIM), as strings; empty when none is configured.
    roles: tuple[str, ...]
    # The token's verified payload, read-only.
    claims: Mapping[str, Any] = field(compare=False, repr=False)


def looks_like_jwt(token: str) -> bool:
    """True when the bearer credential has a JWT's shape (three dot-separated base64url parts),
    so a caller can tell an identity provider's token from an API token without verifying."""
    parts = token.split(".")
    return len(parts) == 3 and all(parts[:2]) and all(_is_base64url(p) for p in parts)


def _is_base64url(text: str) -> bool:
    return all(c.isascii() and (c.isalnum() or c in "-_") for c in text)


@dataclass
class _KeySet:
    """One fetched JWKS: signing keys by kid (and those without one)."""

    by_kid: dict[str, dict[str, Any]]
    unnamed: tuple[dict[str, Any], ...]
    fetched_at: float
    built: dict[tuple[str, str], jwt.PyJWK] = field(default_factory=dict)

    @classmethod
    def parse(cls, document: dict[str, Any], fetched_at: float) -> _KeySet:
        keys = document.get("keys")
        if not isinstance(keys, list):
            raise ProviderUnavailable("the JWKS document has no keys list")
        by_kid: dict[str, dict[str, Any]] = {}
        unnamed: list[dict[str, Any]] = []
        for key in keys:
            if not isinstance(key, dict) or not isinstance(key.get("kty"), str):
                continue
            if key.get("use") not in (None, "sig"):
                continue  # encryption keys never verify a signature
            kid = key.get("kid")
            if isinstance(kid, str) and kid:
                by_kid.setdefault(kid, key)
            elif kid is None:
                unnamed.append(key)
        return cls(by_kid=by_kid, unnamed=tuple(unnamed), fetched_at=fetched_at)

    def find(self, kid: str | None, alg: str) -> tuple[str, dict[str, Any]] | None:
        """(cache name, key) for a token's kid; without a kid, the one key that fits the alg."""
        if kid is not None:
            key = self.by_kid.get(kid)
            return (kid, key) if key is not None else None
        fitting = [(f"#{i}", k) for i, k in enumerate((*self.by_kid.values(), *self.unnamed)) if _fits(k, alg)]
        return fitting[0] if len(fitting) == 1 else None


def _fits(key: Mapping[str, Any], alg: str) -> bool:
    """May this JWK verify a signature made with this algorithm?"""
    kty, curves = _KEY_TYPES.get(alg, (None, None))
    if kty is None or key.get("kty") != kty:
        return False
    if curves is not None and key.get("crv") not in curves:
        return False
    declared = key.get("alg")
    return declared is None or declared == alg


class OidcVerifier:
    """Verifies tokens of one provider; thread-safe; one per process (see :func:`get_verifier`).

    ``clock`` (monotonic seconds) and ``http`` (a urllib3 PoolManager) can be given by tests.
    ``fetches`` counts the JWKS fetches attempted, for tests and metrics.
    """

    def __init__(
        self,
        config: OidcConfig,
        *,
        http: urllib3.PoolManager | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._clock = clock
        self._http = http or urllib3.PoolManager(
            headers={"Accept": "application/json", "User-Agent": "contract-refund-eligibility"},
        )
        self._timeout = Timeout(total=config.http_timeout)
        self._lock = threading.Lock()
        self._jwks_url: str | None = config.jwks_url or None
        self._keys: _KeySet | None = None
        self._attempted_at: float | None = None
        self._last_failure: ProviderUnavailable | None = None
        self._discovery: dict[str, Any] | None = None
        self.fetches = 0

    # --- verification ---------------------------------------------------------------------------

    def verify(self, token: str) -> OidcIdentity:
        """The identity a valid token names; raise InvalidToken or ProviderUnavailable."""
        if not isinstance(token, str) or not token:
            raise InvalidToken("malformed")
        if len(token) > MAX_TOKEN_CHARS:
            raise InvalidToken("too_large")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except (DecodeError, PyJWTError):
            raise InvalidToken("malformed") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.config.algorithms:
            raise InvalidToken("algorithm")
        # A token from another issuer is refused before any network call on its behalf.
        if unverified.get("iss") != self.config.issuer:
            raise InvalidToken("issuer")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise InvalidToken("malformed")

        key = self._key(kid, alg)
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=list(self.config.audience),
                issuer=self.config.issuer,
                leeway=self.config.leeway_seconds,
                options={"require": ["exp", "iss", "sub", "aud"], "enforce_minimum_key_length": True},
            )
        except ExpiredSignatureError:
            raise InvalidToken("expired") from None
        except ImmatureSignatureError:
            raise InvalidToken("not_yet_valid") from None
        except InvalidAudienceError:
            raise InvalidToken("audience") from None
        except InvalidIssuerError:
            raise InvalidToken("issuer") from None
        except InvalidIssuedAtError:
            raise InvalidToken("issued_at") from None
        except MissingRequiredClaimError as exc:
            raise InvalidToken("missing_claim", f"The token lacks the {exc.claim} claim.") from None
        except InvalidAlgorithmError:
            raise InvalidToken("key_mismatch") from None
        except InvalidSignatureError:
            raise InvalidToken("signature") from None
        except InvalidKeyError:
            logger.warning("identity provider key %r for %s is too weak or unusable", kid, alg)
            raise InvalidToken("unusable_key") from None
        except PyJWTError:
            raise InvalidToken("invalid") from None

        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject or len(subject) > MAX_SUBJECT_CHARS:
            raise InvalidToken("subject")
        return self._identity(claims)

    def _identity(self, claims: dict[str, Any]) -> OidcIdentity:
        email = claims.get("email")
        verified = claims.get("email_verified")
        name = claims.get("name")
        username = claims.get("preferred_username")
        return OidcIdentity(
            issuer=claims["iss"],
            subject=claims["sub"],
            email=email.strip() if isinstance(email, str) and email.strip() else None,
            email_verified=verified is True or (isinstance(verified, str) and verified.lower() == "true"),
            name=name if isinstance(name, str) and name else None,
            preferred_username=username if isinstance(username, str) and username else None,
            roles=roles_from_claims(claims, self.config.roles_claim),
            claims=MappingProxyType(dict(claims)),
        )

    # --- keys ---------------------------------------------------------------------------------

    def _key(self, kid: str | None, alg: str) -> jwt.PyJWK:
        keys = self._keys
        if keys is None:
            keys = self._refresh(seen=None)
        elif self._clock() - keys.fetched_at > JWKS_MAX_AGE_SECONDS:
            try:
                keys = self._refresh(seen=keys)
            except ProviderUnavailable as exc:
                # The failed fetch itself was logged once; this happens on every token meanwhile.
                logger.debug("identity provider keys are %ds old and could not be refreshed (%s); using them", self._clock() - keys.fetched_at, exc.reason)
        found = keys.find(kid, alg)
        if found is None:
            # Perhaps the provider rotated its keys: fetch them again (the floor permitting).
            keys = self._refresh(seen=keys)
            found = keys.find(kid, alg)
        if found is None:
            logger.info("token names key id %r, which the identity provider does not publish", kid)
            raise InvalidToken("unknown_key")
        name, jwk = found
        if not _fits(jwk, alg):
            raise InvalidToken("key_mismatch")
        built = keys.built.get((name, alg))
        if built is None:
            try:
                built = jwt.PyJWK(jwk, algorithm=alg)
            except (PyJWKError, InvalidKeyError, ValueError, TypeError):
                logger.warning("identity provider key %r cannot be used for %s", kid, alg)
                raise InvalidToken("unusable_key") from None
            keys.built[(name, alg)] = built
        return built

    def _refresh(self, *, seen: _KeySet | None) -> _KeySet:
        """The key set fetched anew, unless another thread just did or the floor forbids it; then
        the current one. Raise ProviderUnavailable when this fetch fails, or, within the floor,
        when the last one did."""
        with self._lock:
            current = self._keys
            if current is not None and current is not seen:
                return current  # fetched by another thread while this one waited
            now = self._clock()
            if self._attempted_at is not None and now - self._attempted_at < self.config.min_refresh_seconds:
                # Too soon to ask again. If the last attempt failed, the provider is presumed
                # still down: the key cannot be checked (503, so the client retries), which is
                # not the same as a key the provider does not publish (401).
                if self._last_failure is not None:
                    raise self._last_failure
                if current is None:
                    raise ProviderUnavailable("no keys fetched yet")
                return current
            self._attempted_at = now
            self.fetches += 1
            try:
                document = self._get_json(self._resolve_jwks_url(), what="JWKS")
                keys = _KeySet.parse(document, fetched_at=now)
            except ProviderUnavailable as exc:
                self._last_failure = exc
                logger.warning("identity provider keys could not be fetched: %s", exc.reason)
                raise
            self._keys, self._last_failure = keys, None
            logger.info("identity provider keys fetched: %d signing keys", len(keys.by_kid) + len(keys.unnamed))
            return keys

    def browser_endpoints(self) -> dict[str, str]:
        """The authorization and token endpoints a browser signs in with (authorization code flow
        with PKCE), from the discovery document (fetched once; a failed fetch is retried on the
        next call). Raise ProviderUnavailable when it cannot be read or names other endpoints
        than a provider may (plain http only on loopback)."""
        with self._lock:
            if self._discovery is None:
                document = self._get_json(self.config.discovery_url, what="discovery document")
                if document.get("issuer") != self.config.issuer:
                    raise ProviderUnavailable(f"the discovery document names issuer {document.get('issuer')!r}, not OIDC_ISSUER {self.config.issuer!r}")
                self._discovery = document
            document = self._discovery
        endpoints = {}
        for name in ("authorization_endpoint", "token_endpoint"):
            url = document.get(name)
            if not isinstance(url, str) or not _acceptable_url(url):
                raise ProviderUnavailable(f"the discovery document's {name} {url!r} is missing or not https")
            endpoints[name] = url
        return endpoints

    def _resolve_jwks_url(self) -> str:
        """OIDC_JWKS_URL, else the discovery document's jwks_uri (fetched once). Under the lock."""
        if self._jwks_url:
            return self._jwks_url
        document = self._get_json(self.config.discovery_url, what="discovery document")
        if document.get("issuer") != self.config.issuer:
            # OpenID Connect Discovery 1.0, section 4.3: the issuer must be the one asked about.
            raise ProviderUnavailable(f"the discovery document names issuer {document.get('issuer')!r}, not OIDC_ISSUER {self.config.issuer!r}")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not _acceptable_url(jwks_uri):
            raise ProviderUnavailable(f"the discovery document's jwks_uri {jwks_uri!r} is missing or not https")
        self._jwks_url = jwks_uri
        return jwks_uri

    def _get_json(self, url: str, *, what: str) -> dict[str, Any]:
        try:
            response = self._http.request("GET", url, preload_content=False, redirect=False, retries=False, timeout=self._timeout)
        except urllib3.exceptions.HTTPError as exc:
            raise ProviderUnavailable(f"{what} at {url}: {type(exc).__name__}") from None
        try:
            if response.status != 200:
                raise ProviderUnavailable(f"{what} at {url}: HTTP {response.status}")
            body = response.read(MAX_DOCUMENT_BYTES + 1)
        except urllib3.exceptions.HTTPError as exc:
            raise ProviderUnavailable(f"{what} at {url}: {type(exc).__name__}") from None
        finally:
            response.release_conn()
        if len(body) > MAX_DOCUMENT_BYTES:
            raise ProviderUnavailable(f"{what} at {url} is larger than {MAX_DOCUMENT_BYTES} bytes")
        try:
            document = json.loads(body)
        except ValueError:
            raise ProviderUnavailable(f"{what} at {url} is not JSON") from None
        if not isinstance(document, dict):
            raise ProviderUnavailable(f"{what} at {url} is not a JSON object")
        return document


def _acceptable_url(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return bool(parts.hostname)
    return parts.scheme == "http" and is_loopback_host(parts.hostname)


def roles_from_claims(claims: Mapping[str, Any], claim: str) -> tuple[str, ...]:
    """The values of the roles claim: a top-level claim by its full name (namespaced claims such
    as ``https://lender.example/roles`` contain dots), else a dotted path (``realm_access.roles``).
    A list gives its strings; a string gives its space- or comma-separated words."""
    if not claim:
        return ()
    value: Any = claims.get(claim) if claim in claims else claims
    if claim not in claims:
        for part in claim.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, str):
        return tuple(v for v in value.replace(",", " ").split() if v)
    if isinstance(value, (list, tuple)):
        return tuple(v for v in value if isinstance(v, str) and v)
    return ()


# --- one verifier per process and configuration --------------------------------------------------

_verifiers: dict[tuple[int, OidcConfig], OidcVerifier] = {}
_verifiers_lock = threading.Lock()


def get_verifier(settings: Settings | None = None) -> OidcVerifier | None:
    """This process's verifier for the configured provider; None when single sign-on is off.

    Keyed by process id too, so a verifier built before a fork is not shared with the child.
    """
    config = OidcConfig.from_settings(settings or get_settings())
    if config is None:
        return None
    key = (os.getpid(), config)
    verifier = _verifiers.get(key)
    if verifier is None:
        with _verifiers_lock:
            verifier = _verifiers.get(key)
            if verifier is None:
                verifier = _verifiers[key] = OidcVerifier(config)
    return verifier


def verify_token(token: str, settings: Settings | None = None) -> OidcIdentity:
    """Verify a bearer token with this process's verifier; InvalidToken when SSO is off."""
    verifier = get_verifier(settings)
    if verifier is None:
        raise InvalidToken("disabled")
    return verifier.verify(token)


def reset_verifiers() -> None:
    """Forget every verifier (tests that change the provider)."""
    with _verifiers_lock:
        _verifiers.clear()
