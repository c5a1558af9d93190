"""A loopback OpenID provider that tests fully control: discovery, JWKS, signing keys, faults.

oidc-provider-mock issues real tokens over the authorization-code flow, but with one RSA key for
its lifetime; this one lets a test rotate keys, sign any claims with any key and algorithm, count
the requests the verifier makes, and make the provider fail or go slow.
"""

from __future__ import annotations

import contextlib
import json
import urllib.parse
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import urllib3
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

_ALGORITHMS = {"RSA": "RS256", "EC": "ES256", "OKP": "EdDSA"}


@dataclass
class SigningKey:
    kid: str
    kind: str  # RSA, EC or OKP
    private_key: Any
    alg: str

    def public_jwk(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.alg)
        jwk = json.loads(algorithm.to_jwk(self.private_key.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig"}

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def new_key(kind: str = "RSA", kid: str | None = None, *, bits: int = 2048) -> SigningKey:
    if kind == "RSA":
        private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    elif kind == "EC":
        private = ec.generate_private_key(ec.SECP256R1())
    elif kind == "OKP":
        private = ed25519.Ed25519PrivateKey.generate()
    else:
        raise ValueError(kind)
    return SigningKey(kid=kid or uuid.uuid4().hex[:12], kind=kind, private_key=private, alg=_ALGORITHMS[kind])


class LoopbackProvider:
    """Serves /.well-known/openid-configuration and /jwks on 127.0.0.1; signs tokens.

    ``published`` is the key set it serves; ``hits`` counts requests by path; ``status`` other
    than 200 makes both documents fail with it; ``delay`` slows every answer.
    """

    def __init__(self, *, audience: str = "api://refunds") -> None:
        self.audience = audience
        self.published: list[SigningKey] = []
        self.hits: Counter[str] = Counter()
        self.status = 200
        self.delay = 0.0
        self.discovery_issuer: str | None = None  # None: the real issuer
        self.discovery_extra: dict[str, Any] = {}  # merged into the discovery document
        self.jwks_extra: list[Any] = []  # more entries in the JWKS, as given
        self.raw_jwks: bytes | None = None  # served instead of the JWKS when set
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                with owner._lock:
                    owner.hits[self.path] += 1
                if owner.delay:
                    time.sleep(owner.delay)
                if owner.status != 200:
                    return self._send(owner.status, {"error": "unavailable"})
                if self.path == "/.well-known/openid-configuration":
                    return self._send(200, {
                        "issuer": owner.discovery_issuer or owner.issuer,
                        "jwks_uri": f"{owner.issuer}/jwks",
                        "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
                        **owner.discovery_extra,
                    })
                if self.path == "/jwks":
                    if owner.raw_jwks is not None:
                        return self._send(200, None, raw=owner.raw_jwks)
                    return self._send(200, {"keys": [*owner.jwks_extra, *(k.public_jwk() for k in list(owner.published))]})
                return self._send(404, {"error": "not found"})

            def _send(self, status: int, body: Any, raw: bytes | None = None) -> None:
                data = raw if raw is not None else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.key = self.add_key()

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def jwks_fetches(self) -> int:
        return self.hits["/jwks"]

    def add_key(self, kind: str = "RSA", *, publish: bool = True, bits: int = 2048) -> SigningKey:
        key = new_key(kind, bits=bits)
        if publish:
            self.published.append(key)
        return key

    def withdraw(self, key: SigningKey) -> None:
        self.published = [k for k in self.published if k.kid != key.kid]

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": "user-1",
            "iat": now,
            "exp": now + 300,
            "email": "user1@lender.example",
            "email_verified": True,
            "name": "User One",
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def token(self, key: SigningKey | None = None, *, headers: dict[str, Any] | None = None, **claims: Any) -> str:
        """A token signed with ``key`` (default: the first one); claims set to None are left out."""
        key = key or self.key
        return jwt.encode(self.claims(**claims), key.private_key, algorithm=key.alg, headers={"kid": key.kid, **(headers or {})})

    def __enter__(self) -> LoopbackProvider:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop answering and close the port (a provider that is down)."""
        if self.thread.is_alive():
            self.server.shutdown()
        self.server.server_close()


# --- oidc-provider-mock: a real provider's authorization-code flow, over HTTP -------------------

MOCK_REDIRECT = "http://localhost/callback"


@contextlib.contextmanager
def running_mock_provider():
    """oidc-provider-mock on a loopback port; yields its issuer URL."""
    from oidc_provider_mock import run_server_in_thread

    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


def id_token_from(base: str, *, client_id: str, sub: str, claims: dict) -> str:
    """Sign in at the mock provider as ``sub`` and exchange the code for tokens, over HTTP."""
    http = urllib3.PoolManager()
    response = http.request("PUT", f"{base}/users/{sub}", body=json.dumps(claims), headers={"Content-Type": "application/json"})
    assert response.status == 204
    query = urllib.parse.urlencode({"client_id": client_id, "redirect_uri": MOCK_REDIRECT, "response_type": "code", "scope": "openid email profile", "state": "s"})
    response = http.request("POST", f"{base}/oauth2/authorize?{query}", fields={"sub": sub}, encode_multipart=False, redirect=False)
    assert response.status == 302, response.data[:300]
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(response.headers["Location"]).query)["code"][0]
    response = http.request(
        "POST",
        f"{base}/oauth2/token",
        fields={"grant_type": "authorization_code", "code": code, "redirect_uri": MOCK_REDIRECT, "client_id": client_id, "client_secret": "secret"},
        encode_multipart=False,
    )
    assert response.status == 200, response.data[:300]
    return json.loads(response.data)["id_token"]


