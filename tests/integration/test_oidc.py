"""OpenID Connect token verification against providers on loopback, over real HTTP.

oidc-provider-mock stands in for a real provider (tokens come out of its authorization-code
flow); tests/support/oidc_provider.py is a provider the tests control (rotation, forged tokens,
faults). No database is needed here.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import threading
import time
import uuid

import jwt
import pytest

from pipeline.core.settings import ConfigError, Settings
from pipeline.identity import oidc
from pipeline.identity.errors import InvalidToken, ProviderUnavailable
from pipeline.identity.oidc import OidcConfig, OidcVerifier
from tests.support.net import free_port
from tests.support.oidc_provider import LoopbackProvider, id_token_from, running_mock_provider

AUDIENCE = "api://refunds"
REDIRECT = "http://localhost/callback"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- the mock provider: a real OpenID provider's authorization-code flow -------------------------


@pytest.fixture(scope="module")
def mock_provider():
    with running_mock_provider() as base:
        yield base


def _settings(issuer: str, audience: str = AUDIENCE, **env: str) -> Settings:
    return Settings.from_env({"OIDC_ISSUER": issuer, "OIDC_AUDIENCE": audience, **env})


def test_a_token_from_the_provider_over_http_is_accepted(mock_provider):
    oidc.reset_verifiers()
    claims = {"email": "Alice@Lender.example", "email_verified": True, "name": "Alice Doe", "roles": ["agent", "reviewers"]}
    token = id_token_from(mock_provider, client_id=AUDIENCE, sub="alice", claims=claims)
    settings = _settings(mock_provider, OIDC_ROLES_CLAIM="roles")

    identity = oidc.verify_token(token, settings)

    assert (identity.issuer, identity.subject) == (mock_provider, "alice")
    assert identity.email == "Alice@Lender.example" and identity.email_verified
    assert identity.name == "Alice Doe"
    assert identity.roles == ("agent", "reviewers")
    assert identity.claims["aud"] == [AUDIENCE]
    # One verifier per process and configuration: the second token needs no new fetch.
    verifier = oidc.get_verifier(settings)
    assert verifier is oidc.get_verifier(settings) and verifier.fetches == 1
    oidc.verify_token(id_token_from(mock_provider, client_id=AUDIENCE, sub="bob", claims={}), settings)
    assert verifier.fetches == 1


def test_a_token_from_the_provider_for_another_client_is_refused(mock_provider):
    token = id_token_from(mock_provider, client_id="some-other-app", sub="alice", claims={})
    verifier = OidcVerifier(OidcConfig.from_settings(_settings(mock_provider)))
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token)
    assert caught.value.reason == "audience" and caught.value.status == 401
    assert token not in str(caught.value)


def test_sign_in_off_without_an_issuer():
    settings = Settings.from_env({})
    assert oidc.get_verifier(settings) is None
    with pytest.raises(InvalidToken, match="not enabled"):
        oidc.verify_token("a.b.c", settings)


# --- the controllable provider --------------------------------------------------------------------


@pytest.fixture
def idp():
    with LoopbackProvider(audience=AUDIENCE) as provider:
        yield provider


@pytest.fixture
def clock():
    return FakeClock()


def _verifier(idp: LoopbackProvider, clock=time.monotonic, **changes) -> OidcVerifier:
    config = OidcConfig(
        issuer=idp.issuer,
        audience=(AUDIENCE,),
        algorithms=("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"),
        leeway_seconds=60,
        min_refresh_seconds=30,
        http_timeout=2,
    )
    return OidcVerifier(dataclasses.replace(config, **changes), clock=clock)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _assemble(header: dict, payload: dict, sign) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    return f"{signing_input}.{_b64(sign(signing_input.encode()))}"


def _refused(verifier: OidcVerifier, token: str) -> str:
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token)
    assert not token or token not in caught.value.message
    return caught.value.reason


def test_a_good_token_is_accepted_and_its_fields_read(idp):
    identity = _verifier(idp, roles_claim="realm_access.roles").verify(
        idp.token(sub="kc-42", realm_access={"roles": ["operator", "offline_access"]}, email_verified="true")
    )
    assert identity.subject == "kc-42" and identity.email == "user1@lender.example"
    assert identity.email_verified is True
    assert identity.roles == ("operator", "offline_access")


def test_a_namespaced_roles_claim_is_read_whole_before_as_a_path(idp):
    claim = "https://lender.example/roles"
    identity = _verifier(idp, roles_claim=claim).verify(idp.token(**{claim: "auditor agent"}))
    assert identity.roles == ("auditor", "agent")


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "api://someone-else"}, "audience"),
        ({"aud": ["api://someone-else", "userinfo"]}, "audience"),
        ({"exp": int(time.time()) - 120}, "expired"),
        ({"nbf": int(time.time()) + 600}, "not_yet_valid"),
        ({"iat": int(time.time()) + 600}, "not_yet_valid"),
        ({"sub": None}, "missing_claim"),
        ({"exp": None}, "missing_claim"),
        ({"aud": None}, "missing_claim"),
        ({"sub": "x" * 300}, "subject"),
    ],
)
def test_claims_that_do_not_hold_are_refused(idp, claims, reason):
    assert _refused(_verifier(idp), idp.token(**claims)) == reason


def test_clock_skew_within_the_leeway_is_tolerated(idp):
    now = int(time.time())
    verifier = _verifier(idp)
    assert verifier.verify(idp.token(exp=now - 30, nbf=now + 30, iat=now + 30)).subject == "user-1"
    assert _refused(_verifier(idp, leeway_seconds=0), idp.token(exp=now - 30)) == "expired"


def test_a_token_from_another_issuer_is_refused_without_asking_the_provider(idp):
    verifier = _verifier(idp)
    with LoopbackProvider(audience=AUDIENCE) as other:
        assert _refused(verifier, other.token()) == "issuer"
        # Same key, issuer spelt differently: still refused (exact match).
        assert _refused(verifier, idp.token(iss=idp.issuer + "/")) == "issuer"
    assert idp.hits["/jwks"] == 0


def test_a_tampered_token_is_refused(idp):
    verifier = _verifier(idp)
    header, payload, signature = idp.token().split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged["sub"] = "admin"
    assert _refused(verifier, f"{header}.{_b64(json.dumps(forged).encode())}.{signature}") == "signature"
    # A signature from another key with the same kid.
    impostor = LoopbackProvider(audience=AUDIENCE)
    impostor.key.kid = idp.key.kid
    assert _refused(verifier, impostor.token(iss=idp.issuer)) == "signature"
    impostor.stop()


def test_alg_none_is_refused(idp):
    token = _assemble({"alg": "none", "typ": "JWT", "kid": idp.key.kid}, idp.claims(), lambda _: b"")
    assert _refused(_verifier(idp), token) == "algorithm"
    assert _refused(_verifier(idp), token.rsplit(".", 1)[0] + ".") == "algorithm"


def test_hs256_signed_with_the_providers_public_key_is_refused(idp):
    pem = idp.key.public_pem()
    token = _assemble({"alg": "HS256", "typ": "JWT", "kid": idp.key.kid}, idp.claims(sub="admin"), lambda data: hmac.new(pem, data, hashlib.sha256).digest())
    assert _refused(_verifier(idp), token) == "algorithm"
    # Even a verifier built around the settings' check, listing HS256, matches alg to key type.
    assert _refused(_verifier(idp, algorithms=("RS256", "HS256")), token) == "key_mismatch"


def test_the_algorithm_must_fit_the_key_it_names(idp):
    ec_key = idp.add_key("EC")
    ed_key = idp.add_key("OKP")
    verifier = _verifier(idp)
    assert verifier.verify(idp.token(ec_key)).subject == "user-1"
    assert verifier.verify(idp.token(ed_key)).subject == "user-1"
    # An RSA signature presented as made by the EC key.
    rsa_signed = jwt.encode(idp.claims(), idp.key.private_key, algorithm="RS256", headers={"kid": ec_key.kid})
    assert _refused(verifier, rsa_signed) == "key_mismatch"
    # An algorithm the configuration leaves out.
    assert _refused(_verifier(idp, algorithms=("RS256",)), idp.token(ec_key)) == "algorithm"


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30", "x" * 20000])
def test_garbage_is_refused(idp, token):
    assert _refused(_verifier(idp), token) in {"malformed", "too_large"}


def test_looks_like_jwt():
    assert oidc.looks_like_jwt("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln")
    assert not oidc.looks_like_jwt("cre_0123456789abcdef")
    assert not oidc.looks_like_jwt("a.b")
    assert not oidc.looks_like_jwt("a b.c.d")


def test_an_rsa_key_shorter_than_2048_bits_is_not_trusted(idp):
    weak = idp.add_key("RSA", bits=1024)
    assert _refused(_verifier(idp), idp.token(weak)) == "unusable_key"


def test_only_signing_keys_of_the_right_curve_are_used(idp):
    enc = idp.add_key("RSA")
    idp.withdraw(enc)
    idp.jwks_extra = ["garbage", {"no": "kty"}, {**enc.public_jwk(), "use": "enc"}]
    ec_key = idp.add_key("EC")
    verifier = _verifier(idp)
    assert verifier.verify(idp.token()).subject == "user-1"
    # An encryption key is not a signing key: as if unpublished.
    assert _refused(verifier, idp.token(enc)) == "unknown_key"
    # A P-256 key does not verify ES384, whatever the token says.
    es384 = _assemble({"alg": "ES384", "kid": ec_key.kid}, idp.claims(), lambda _: b"\x01" * 96)
    assert _refused(verifier, es384) == "key_mismatch"


def test_a_token_without_kid_uses_the_only_key_that_fits(idp):
    no_kid = jwt.encode(idp.claims(), idp.key.private_key, algorithm="RS256")
    assert _verifier(idp).verify(no_kid).subject == "user-1"
    idp.add_key("RSA")  # two RSA keys: which one is meant is no longer clear
    assert _refused(_verifier(idp), no_kid) == "unknown_key"


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (lambda idp: setattr(idp, "raw_jwks", b"<html>login</html>"), "not JSON"),
        (lambda idp: setattr(idp, "raw_jwks", b"[]"), "not a JSON object"),
        (lambda idp: setattr(idp, "raw_jwks", b'{"keys": 3}'), "no keys list"),
        (lambda idp: setattr(idp, "raw_jwks", b" " * (oidc.MAX_DOCUMENT_BYTES + 10)), "larger than"),
        (lambda idp: idp.discovery_extra.update(jwks_uri="http://keys.lender.example/jwks"), "not https"),
        (lambda idp: idp.discovery_extra.update(jwks_uri=None), "missing"),
    ],
)
def test_a_broken_provider_gives_provider_unavailable(idp, setup, reason):
    setup(idp)
    with pytest.raises(ProviderUnavailable) as caught:
        _verifier(idp).verify(idp.token())
    assert reason in caught.value.reason


# --- keys: cache, rotation, the refresh floor -----------------------------------------------------


def test_keys_are_cached_and_discovery_fetched_once(idp, clock):
    verifier = _verifier(idp, clock)
    for _ in range(5):
        verifier.verify(idp.token())
    assert idp.hits["/.well-known/openid-configuration"] == 1 and idp.jwks_fetches == 1


def test_a_rotated_key_is_picked_up_without_rebuilding_the_verifier(idp, clock):
    verifier = _verifier(idp, clock)
    verifier.verify(idp.token())
    new = idp.add_key("RSA")
    idp.withdraw(idp.key)

    # Within the floor the new key is not fetched yet ...
    assert _refused(verifier, idp.token(new)) == "unknown_key"
    assert idp.jwks_fetches == 1
    # ... past it, the unknown kid makes the verifier fetch the published set again.
    clock.now += 31
    assert verifier.verify(idp.token(new)).subject == "user-1"
    assert idp.jwks_fetches == 2
    # The withdrawn key is gone with the old set.
    assert _refused(verifier, idp.token(idp.key)) == "unknown_key"
    assert idp.hits["/.well-known/openid-configuration"] == 1


def test_a_flood_of_unknown_key_ids_does_not_hammer_the_provider(idp, clock):
    verifier = _verifier(idp, clock)
    verifier.verify(idp.token())
    clock.now += 31
    impostor = idp.add_key(publish=False)
    reasons: list[str] = []

    def burst() -> None:
        for _ in range(25):
            impostor.kid = uuid.uuid4().hex
            try:
                verifier.verify(idp.token(impostor))
            except InvalidToken as exc:
                reasons.append(exc.reason)

    threads = [threading.Thread(target=burst) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(reasons) == 200 and set(reasons) == {"unknown_key"}
    # The first unknown kid after the floor refetched once; the other 199 waited for the floor.
    assert idp.jwks_fetches == 2 and verifier.fetches == 2
    clock.now += 31
    assert _refused(verifier, idp.token(impostor)) == "unknown_key"
    assert idp.jwks_fetches == 3


def test_old_keys_are_refreshed_after_an_hour(idp, clock):
    verifier = _verifier(idp, clock)
    verifier.verify(idp.token())
    clock.now += oidc.JWKS_MAX_AGE_SECONDS + 1
    verifier.verify(idp.token())
    assert idp.jwks_fetches == 2


# --- the provider unreachable ---------------------------------------------------------------------


def test_a_provider_that_is_down_gives_provider_unavailable():
    issuer = f"http://127.0.0.1:{free_port()}"
    settings = _settings(issuer)
    verifier = OidcVerifier(OidcConfig.from_settings(settings))
    token = _assemble({"alg": "RS256", "kid": "k1"}, {"iss": issuer, "aud": AUDIENCE, "sub": "u", "exp": int(time.time()) + 60}, lambda _: b"sig")
    with pytest.raises(ProviderUnavailable) as caught:
        verifier.verify(token)
    assert caught.value.status == 503
    # Within the floor it does not try again, and still says unavailable (not 401).
    with pytest.raises(ProviderUnavailable):
        verifier.verify(token)
    assert verifier.fetches == 1


def test_provider_errors_and_slowness_give_provider_unavailable(idp, clock):
    idp.status = 503
    verifier = _verifier(idp, clock)
    with pytest.raises(ProviderUnavailable):
        verifier.verify(idp.token())

    idp.status = 200
    idp.delay = 1.0
    slow = _verifier(idp, clock, http_timeout=0.3)
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable):
        slow.verify(idp.token())
    assert time.monotonic() - started < 0.9


def test_known_keys_keep_working_while_the_provider_is_down(idp, clock):
    verifier = _verifier(idp, clock)
    verifier.verify(idp.token())
    idp.status = 503
    clock.now += oidc.JWKS_MAX_AGE_SECONDS + 1
    assert verifier.verify(idp.token()).subject == "user-1"  # stale keys rather than an outage
    clock.now += 31
    with pytest.raises(ProviderUnavailable):  # an unknown kid cannot be checked now
        verifier.verify(idp.token(idp.add_key(publish=False)))


def test_a_discovery_document_for_another_issuer_is_not_trusted(idp):
    idp.discovery_issuer = "https://evil.example"
    with pytest.raises(ProviderUnavailable) as caught:
        _verifier(idp).verify(idp.token())
    assert "evil.example" in caught.value.reason
    assert idp.jwks_fetches == 0


def test_an_explicit_jwks_url_skips_discovery(idp):
    verifier = _verifier(idp, jwks_url=f"{idp.issuer}/jwks")
    verifier.verify(idp.token())
    assert idp.hits["/.well-known/openid-configuration"] == 0 and idp.jwks_fetches == 1


def test_a_plain_http_issuer_off_loopback_is_refused_by_the_settings():
    with pytest.raises(ConfigError, match="OIDC_ISSUER"):
        _settings("http://idp.lender.example")
    with pytest.raises(ConfigError, match="OIDC_JWKS_URL"):
        _settings("https://idp.lender.example", OIDC_JWKS_URL="http://idp.lender.example/keys")
