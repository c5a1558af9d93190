"""One settings object, read from the environment.

Every variable the service understands is declared once, as a field of :class:`Settings` with its
default, parser and one-line description (``VARIABLES`` is read from those fields); README.md and
.env.example list the same names (a test keeps them in step).
Nothing reads the environment at import time: call :func:`get_settings` inside functions.

With nothing set, the service runs on its embedded default: SQLite in ``DATA_DIR``, a file-system
Celery broker, an in-process cache, PDFs in a local folder and the offline ``local`` provider.
Invalid values stop start-up with a :class:`ConfigError` naming the variable.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values

from pipeline.vocabulary import USER_ROLES


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


APP_ENVS = ("development", "test", "staging", "production")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LLM_PROVIDERS = ("local", "openai", "anthropic", "bedrock", "openai_compatible")
# Public-key signature algorithms PyJWT verifies. HMAC (HS*) and "none" are never accepted for
# sign-in: an HMAC "signed" with the provider's public key would verify against that public key.
OIDC_SIGNING_ALGORITHMS = (
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES256K", "ES384", "ES512", "EdDSA",
)


# --- parsers: (variable name, raw text) -> value; raise ConfigError with the name ---------------


def _text(name: str, raw: str) -> str:
    return raw.strip()


def _choice(*choices: str, upper: bool = False) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        value = raw.strip().upper() if upper else raw.strip().lower()
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {raw!r}")
        return value

    return parse


def _int(minimum: int, maximum: int | None = None) -> Callable[[str, str], int]:
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ConfigError(f"{name} must be a whole number; got {raw!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            raise ConfigError(f"{name} must be {bound}; got {value}")
        return value

    return parse


def _url(*schemes: str) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        value = raw.strip()
        if not value:
            return ""
        parts = urlsplit(value)
        if parts.scheme not in schemes:
            raise ConfigError(
                f"{name} must be a URL starting with {' or '.join(s + '://' for s in schemes)}; "
                f"got {_mask_url(value)!r}"
            )
        if parts.scheme not in ("sqlite", "filesystem") and not parts.hostname:
            raise ConfigError(f"{name} has no host: {_mask_url(value)!r}")
        return value

    return parse


def is_loopback_host(host: str | None) -> bool:
    """localhost, 127.0.0.0/8 or ::1: the only hosts sign-in may reach over plain http."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _https_url(name: str, raw: str) -> str:
    """An https URL, or http on a loopback host (a test provider); empty is allowed."""
    value = _url("http", "https")(name, raw)
    if value:
        parts = urlsplit(value)
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            raise ConfigError(f"{name} must use https:// (http:// only on localhost, 127.0.0.0/8 or ::1); got {_mask_url(value)!r}")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ConfigError(f"{name} must be a plain URL without credentials, query or fragment; got {_mask_url(value)!r}")
    return value


def _audiences(name: str, raw: str) -> tuple[str, ...]:
    return tuple(a.strip() for a in raw.split(",") if a.strip())


def _signing_algorithms(name: str, raw: str) -> tuple[str, ...]:
    known = {a.lower(): a for a in OIDC_SIGNING_ALGORITHMS}
    algorithms: list[str] = []
    for entry in (e.strip() for e in raw.split(",")):
        if not entry:
            continue
        if entry.lower() == "none" or entry.upper().startswith("HS"):
            raise ConfigError(f"{name} must not list {entry!r}: sign-in accepts only public-key signatures ({', '.join(OIDC_SIGNING_ALGORITHMS)})")
        if entry.lower() not in known:
            raise ConfigError(f"{name} may list only {', '.join(OIDC_SIGNING_ALGORITHMS)}; got {entry!r}")
        if known[entry.lower()] not in algorithms:
            algorithms.append(known[entry.lower()])
    if not algorithms:
        raise ConfigError(f"{name} must list at least one of {', '.join(OIDC_SIGNING_ALGORITHMS)}")
    return tuple(algorithms)


def _optional_role(name: str, raw: str) -> str:
    value = raw.strip().lower()
    if value and value not in USER_ROLES:
        raise ConfigError(f"{name} must be empty or one of {', '.join(USER_ROLES)}; got {raw!r}")
    return value


def _database_url(name: str, raw: str) -> str:
    value = raw.strip()
    # Heroku-style URLs say postgres://, which SQLAlchemy 2 no longer accepts.
    if value.startswith("postgres://"):
        value = "postgresql://" + value[len("postgres://") :]
    return _url("postgresql", "postgresql+psycopg2", "sqlite")(name, value)


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false; got {raw!r}")


def _fraction(name: str, raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a number between 0 and 1; got {raw!r}") from None
    if not 0 <= value <= 1:
        raise ConfigError(f"{name} must be between 0 and 1; got {value}")
    return value


def _providers(name: str, raw: str) -> tuple[str, ...]:
    names = tuple(p.strip().lower() for p in raw.split(",") if p.strip())
    for provider in names:
        if provider not in LLM_PROVIDERS:
            raise ConfigError(f"{name} may list only {', '.join(LLM_PROVIDERS)}; got {provider!r}")
    return names


def _origins(name: str, raw: str) -> tuple[str, ...]:
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        if origin != "*" and urlsplit(origin).scheme not in ("http", "https"):
            raise ConfigError(f"{name} entries must be http(s) origins or *; got {origin!r}")
    return origins


_HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _request_rules(name: str, raw: str) -> tuple[tuple[str, str], ...]:
    """'/health, GET /api/v1/batches' -> (('', '/health'), ('GET', '/api/v1/batches'))."""
    rules = []
    for entry in (e.strip() for e in raw.split(",")):
        if not entry:
            continue
        method, _, path = entry.rpartition(" ")
        method = method.strip().upper()
        if not path.startswith("/") or (method and method not in _HTTP_METHODS):
            raise ConfigError(f"{name} entries must be a path prefix (/health) or a method and a prefix (GET /api/v1/batches); got {entry!r}")
        rules.append((method, path.rstrip("/") or "/"))
    return tuple(rules)


def _limits(name: str, raw: str) -> str:
    """A rate limit in the limits library's notation ('3000 per minute;50 per second'), checked."""
    value = raw.strip()
    if value.lower() in ("off", "none", "0"):
        return ""
    if value:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError:
            raise ConfigError(f"{name} must be limits like '3000 per minute' or '50/second;1000/hour'; got {raw!r}") from None
    return value


def _networks(name: str, raw: str) -> tuple[str, ...]:
    """'127.0.0.1, 10.0.0.0/8' -> ('127.0.0.1/32', '10.0.0.0/8'), checked."""
    import ipaddress

    networks = []
    for entry in (e.strip() for e in raw.split(",")):
        if not entry:
            continue
        try:
            networks.append(str(ipaddress.ip_network(entry, strict=False)))
        except ValueError:
            raise ConfigError(f"{name} entries must be IP addresses or networks (10.0.0.0/8); got {entry!r}") from None
    return tuple(networks)


def _provider_limits(name: str, raw: str) -> tuple[tuple[str, int], ...]:
    """'openai=3000, anthropic=1000' -> (('openai', 3000), ('anthropic', 1000))."""
    limits = []
    for entry in (e.strip() for e in raw.split(",")):
        if not entry:
            continue
        provider, _, number = (part.strip() for part in entry.partition("="))
        if provider.lower() not in LLM_PROVIDERS or not number.isdigit():
            raise ConfigError(f"{name} entries must be provider=requests_per_minute with a provider among {', '.join(LLM_PROVIDERS)}; got {entry!r}")
        limits.append((provider.lower(), int(number)))
    return tuple(limits)


def _mask_url(url: str) -> str:
    """The URL with any password replaced, safe for messages and logs."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


@dataclass(frozen=True)
class Var:
    env: str
    default: str
    parse: Callable[[str, str], Any]
    help: str
    secret: bool = False

    @property
    def field(self) -> str:
        return self.env.lower()




def setting(default: str, parse: Callable[[str, str], Any], help: str, *, secret: bool = False) -> Any:
    """A Settings field that is an environment variable of the same name in upper case: its
    default (as the text one would set), its parser and its one-line description."""
    return dataclass_field(metadata={"setting": (default, parse, help, secret)})


@dataclass(frozen=True)
class Settings:
    """Every setting, declared once: the field is the variable (README's table and .env.example are
    generated from these, in this order)."""

    # application
    app_env: str = setting("development", _choice(*APP_ENVS), "development, test, staging or production; production refuses the embedded database and cache")
    log_level: str = setting("INFO", _choice(*LOG_LEVELS, upper=True), "log level of web and worker (JSON lines on standard error)")
    port: int = setting("8000", _int(1, 65535), "port of the web process")
    data_dir: str = setting("var", _text, "folder for the embedded database, broker and PDFs")
    cors_origins: tuple[str, ...] = setting("http://localhost:3000", _origins, "comma-separated browser origins allowed to call the API (* for any)")
    max_request_bytes: int = setting("1048576", _int(1024), "largest request body accepted; larger ones get 413")
    audit_request_exclude: tuple[tuple[str, str], ...] = setting("/health,/ready,/docs,/openapi.json,/static,/metrics,/api/v1/admin/metrics,/api/v1/jobs,GET /api/v1/batches", _request_rules, "requests not written to the audit trail as api_request: path prefixes, each optionally after a method (/ excludes all)")
    # database
    database_url: str = setting("", _database_url, "PostgreSQL URL (postgresql://user:pass@host:5432/db); empty: SQLite in DATA_DIR", secret=True)
    migration_database_url: str = setting("", _database_url, "URL of the role that owns the tables, for migrations only (`flask db`); give it to the release step, not to web or workers; empty: DATABASE_URL", secret=True)
    database_pool_size: int = setting("20", _int(1, 500), "connections kept per process (PostgreSQL)")
    database_max_overflow: int = setting("10", _int(0, 500), "extra connections a process may open under load (PostgreSQL)")
    # redis and celery
    redis_url: str = setting("", _url("redis", "rediss"), "Redis URL for cache, job status and broker; empty: in-process cache", secret=True)
    redis_ttl_default: int = setting("3600", _int(1), "seconds a cached value lives unless its kind says otherwise")
    cache_ttl_contract: int = setting("900", _int(1), "seconds a contract found by account number stays cached")
    cache_ttl_pdf: int = setting("900", _int(1), "seconds a contract's PDF bytes stay cached")
    pdf_cache_max_bytes: int = setting("10485760", _int(0), "PDFs larger than this are streamed without caching")
    celery_broker_url: str = setting("", _url("redis", "rediss", "amqp", "filesystem"), "Celery broker; empty: REDIS_URL, else a file-system broker in DATA_DIR", secret=True)
    celery_task_time_limit: int = setting("900", _int(10), "hard time limit of one task, in seconds")
    celery_visibility_timeout: int = setting("3600", _int(30), "seconds before Redis redelivers an unacknowledged task; must exceed CELERY_TASK_TIME_LIMIT")
    worker_concurrency: int = setting("16", _int(1, 1000), "threads per worker process (jobs wait on the network, not the CPU)")
    celery_task_events: bool = setting("true", _bool, "send task events for Flower from workers and producers (costs some CPU per task)")
    reconcile_interval_seconds: int = setting("60", _int(5, 86400), "how often beat runs the reconciler, which re-sends lost jobs and re-queues those of dead workers")
    job_queued_stale_seconds: int = setting("300", _int(10), "a job queued this long while the broker holds fewer messages than there are queued jobs is sent again")
    job_max_attempts: int = setting("3", _int(1, 100), "runs a job may start; one whose worker died this many times is failed instead of re-queued")
    batch_chunk_size: int = setting("1000", _int(1, 100000), "contracts per transaction when a batch is created (its jobs are sent after each one commits)")
    # documents
    pdf_dir: str = setting("", _text, "local folder of contract PDFs; empty: DATA_DIR/pdfs")
    s3_bucket: str = setting("", _text, "default bucket for contracts whose row names none")
    s3_endpoint_url: str = setting("", _url("http", "https"), "S3-compatible endpoint (MinIO, a test server); empty: AWS")
    aws_region: str = setting("us-east-1", _text, "region of the S3 bucket")
    # providers
    llm_provider: str = setting("local", _choice(*LLM_PROVIDERS), "extraction and chat provider: local, openai, anthropic, bedrock, openai_compatible")
    llm_fallback_providers: tuple[str, ...] = setting("", _providers, "comma-separated providers tried, in order, when the main one fails or its circuit is open")
    llm_local_fallback: bool = setting("true", _bool, "fall back to the offline local extractor when every remote provider failed")
    llm_timeout: int = setting("30", _int(1, 600), "seconds one provider call may take")
    openai_api_key: str = setting("", _text, "key for the openai provider (required when LLM_PROVIDER=openai)", secret=True)
    openai_model: str = setting("gpt-4o-mini", _text, "model of the openai provider")
    openai_base_url: str = setting("", _url("http", "https"), "API base URL of the openai provider; empty: OpenAI's")
    openai_compatible_base_url: str = setting("", _url("http", "https"), "base URL of an OpenAI-compatible server (vLLM, Ollama), e.g. http://gpu:8000/v1")
    openai_compatible_model: str = setting("", _text, "model name on the OpenAI-compatible server")
    openai_compatible_api_key: str = setting("", _text, "key for the OpenAI-compatible server, if it wants one", secret=True)
    anthropic_api_key: str = setting("", _text, "key for the anthropic provider (required when LLM_PROVIDER=anthropic)", secret=True)
    anthropic_model: str = setting("claude-sonnet-4-5", _text, "model of the anthropic provider")
    anthropic_base_url: str = setting("", _url("http", "https"), "API base URL of the anthropic provider; empty: Anthropic's")
    aws_bedrock_region: str = setting("us-east-1", _text, "region of the bedrock provider")
    bedrock_model_id: str = setting("anthropic.claude-3-5-sonnet-20240620-v1:0", _text, "model id of the bedrock provider")
    bedrock_endpoint_url: str = setting("", _url("http", "https"), "bedrock-runtime endpoint; empty: AWS's for the region")
    llm_circuit_breaker_threshold: int = setting("5", _int(1, 1000), "consecutive failures that open a provider's circuit")
    llm_circuit_breaker_reset_seconds: int = setting("60", _int(1, 86400), "seconds an open circuit waits before letting one trial call through")
    llm_retry_max_attempts: int = setting("3", _int(1, 20), "attempts per provider call; the only retries (the SDKs and Celery do not retry on their own)")
    llm_retry_max_wait: int = setting("20", _int(1, 600), "longest wait between two attempts, Retry-After included, in seconds")
    llm_rate_limit_rpm: int = setting("0", _int(0, 10000000), "requests per minute to each remote provider, shared by every worker through Redis (0: unlimited)")
    llm_rate_limit_rpm_by_provider: tuple[tuple[str, int], ...] = setting("", _provider_limits, "per-provider overrides of LLM_RATE_LIMIT_RPM, e.g. openai=3000,anthropic=1000 (0: unlimited)")
    confidence_high: float = setting("0.85", _fraction, "confidence from which a field's badge is high")
    confidence_medium: float = setting("0.6", _fraction, "confidence from which a field's badge is medium (below: low)")
    job_status_ttl: int = setting("86400", _int(60), "seconds a job's status stays mirrored in Redis for fast polling")
    # chat
    cache_ttl_chat_session: int = setting("14400", _int(1), "seconds a chat session stays in Redis after its last use (sliding); every message is also kept in PostgreSQL")
    chat_max_message_chars: int = setting("4000", _int(1, 100000), "longest chat message accepted (characters); longer ones get 422")
    chat_history_messages: int = setting("20", _int(0, 500), "earlier messages of a session sent to the provider with each question")
    chat_context_chars: int = setting("8000", _int(500, 200000), "characters of the most relevant contract passages sent with each question")
    # refund quotes
    refund_free_look_days: int = setting("30", _int(0, 365), "the lender's free-look period in days (full refund, no fee) where the state's rule sets none")
    # external contract source
    external_rdb_api_url: str = setting("", _url("http", "https"), "HTTP source of contracts not yet in the database (GET URL/ACCOUNT_NUMBER); empty: database only")
    external_rdb_api_key: str = setting("", _text, "bearer token sent to the external contract source", secret=True)
    external_rdb_timeout: int = setting("5", _int(1, 120), "seconds to wait for the external contract source")
    external_rdb_retries: int = setting("2", _int(0, 10), "retries of the external contract source after a 5xx or connection error")
    # sign-in (OpenID Connect)
    oidc_issuer: str = setting("", _https_url, "issuer URL of the lender's identity provider, exactly as its tokens' iss says (https://tenant.auth0.com/); empty: single sign-on off")
    oidc_audience: tuple[str, ...] = setting("", _audiences, "audience a token must name (the API identifier or client id; comma-separated for several); required with OIDC_ISSUER")
    oidc_client_id: str = setting("", _text, "client id of the console at the identity provider (a public client: authorization code flow with PKCE, no secret); with OIDC_ISSUER, the console offers single sign-on. Add it to OIDC_AUDIENCE when the console sends ID tokens")
    oidc_jwks_url: str = setting("", _https_url, "the provider's signing keys (JWKS); empty: jwks_uri from OIDC_ISSUER/.well-known/openid-configuration")
    oidc_roles_claim: str = setting("", _text, "claim listing the user's roles (roles, a namespaced claim, or a dotted path like realm_access.roles); empty: roles are kept in the users table only")
    oidc_leeway_seconds: int = setting("60", _int(0, 600), "clock skew tolerated when checking a token's exp, nbf and iat")
    oidc_auto_provision_role: str = setting("", _optional_role, "role given to a user created at first sign-in (agent, operator, auditor, admin); empty: identities no admin created are refused")
    oidc_algorithms: tuple[str, ...] = setting("RS256,RS384,RS512,PS256,PS384,PS512,ES256,ES384,ES512,EdDSA", _signing_algorithms, "token signature algorithms accepted (public-key only: none and HS* are refused)")
    oidc_jwks_min_refresh_seconds: int = setting("30", _int(1, 86400), "least seconds between two fetches of the provider's keys (a token with an unknown key id triggers one)")
    oidc_http_timeout: int = setting("5", _int(1, 60), "seconds to wait for the provider's discovery document and keys")
    # seed
    admin_email: str = setting("admin@example.com", _text, "e-mail of the admin user created by `flask seed`")
    # sign-in and abuse limits
    api_token_expires_days: int = setting("90", _int(0, 3650), "days a new API token lives unless its creator says otherwise (0: no expiry)")
    rate_limit_per_identity: str = setting("3000 per minute", _limits, "requests one signed-in user (or one anonymous client address) may make, e.g. 3000 per minute;50 per second (off: no limit)")
    rate_limit_sign_in_failures: str = setting("20 per minute", _limits, "failed sign-ins (bad, expired or revoked credentials) allowed per client address before 429 (off: no limit)")
    rate_limit_storage_url: str = setting("", _text, "where request counters live (a limits storage URL); empty: REDIS_URL, else this process's memory")
    flower_basic_auth: str = setting("", _text, "user:password (comma-separated for several) Flower asks for; required outside development unless Flower's OAuth settings are set", secret=True)
    flower_address: str = setting("127.0.0.1", _text, "address Flower listens on (python -m workers.flower)")
    flower_port: int = setting("5555", _int(1, 65535), "port Flower listens on")
    metrics_allow_from: tuple[str, ...] = setting("", _networks, "client addresses or networks (127.0.0.1, 10.0.0.0/8) that may read /metrics without a token, e.g. the Prometheus server")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read, parse and check every variable; raise ConfigError naming the first bad one."""
        env = os.environ if environ is None else environ
        values = {}
        for var in VARIABLES:
            raw = env.get(var.env)
            if raw is None or raw.strip() == "":
                raw = var.default
            values[var.field] = var.parse(var.env, raw)
        settings = cls(**values)
        settings._check()
        return settings._resolved()

    def replace(self, **changes: Any) -> Settings:
        """A copy with some values changed (tests and tools); checked like the original."""
        settings = dataclasses.replace(self, **changes)
        settings._check()
        return settings._resolved()

    def _check(self) -> None:
        if self.celery_visibility_timeout <= self.celery_task_time_limit:
            raise ConfigError(
                "CELERY_VISIBILITY_TIMEOUT must exceed CELERY_TASK_TIME_LIMIT "
                f"({self.celery_visibility_timeout} <= {self.celery_task_time_limit}), "
                "or Redis would hand a running task to a second worker"
            )
        providers = (self.llm_provider, *self.llm_fallback_providers)
        if "openai" in providers and not self.openai_api_key:
            raise ConfigError("OPENAI_API_KEY is required when LLM_PROVIDER or LLM_FALLBACK_PROVIDERS names openai")
        if "anthropic" in providers and not self.anthropic_api_key:
            raise ConfigError("ANTHROPIC_API_KEY is required when LLM_PROVIDER or LLM_FALLBACK_PROVIDERS names anthropic")
        if "openai_compatible" in providers and not (self.openai_compatible_base_url and self.openai_compatible_model):
            raise ConfigError("OPENAI_COMPATIBLE_BASE_URL and OPENAI_COMPATIBLE_MODEL are required for the openai_compatible provider")
        if self.confidence_medium > self.confidence_high:
            raise ConfigError("CONFIDENCE_MEDIUM must not exceed CONFIDENCE_HIGH")
        if self.oidc_issuer and not self.oidc_audience:
            raise ConfigError("OIDC_AUDIENCE is required when OIDC_ISSUER is set (a token for another application must not sign in here)")
        if self.oidc_jwks_url and not self.oidc_issuer:
            raise ConfigError("OIDC_JWKS_URL is set but OIDC_ISSUER is not; set OIDC_ISSUER to turn single sign-on on")
        runtime_sqlite = not self.database_url or self.database_url.startswith("sqlite")
        if self.migration_database_url and self.migration_database_url.startswith("sqlite") != runtime_sqlite:
            raise ConfigError("MIGRATION_DATABASE_URL and DATABASE_URL must both name PostgreSQL (two roles of one database) or both SQLite")
        if self.app_env == "production":
            if not self.database_url or self.database_url.startswith("sqlite"):
                raise ConfigError("DATABASE_URL must name a PostgreSQL database when APP_ENV=production")
            if not self.redis_url:
                raise ConfigError("REDIS_URL must be set when APP_ENV=production")

    def _resolved(self) -> Settings:
        """Fill the derived defaults (embedded database, broker, PDF folder)."""
        data_dir = Path(self.data_dir)
        changes: dict[str, Any] = {}
        if not self.database_url:
            changes["database_url"] = f"sqlite:///{data_dir / 'cre.sqlite3'}"
        if not self.celery_broker_url:
            changes["celery_broker_url"] = self.redis_url or "filesystem://"
        if not self.pdf_dir:
            changes["pdf_dir"] = str(data_dir / "pdfs")
        return dataclasses.replace(self, **changes) if changes else self

    # --- derived facts ---------------------------------------------------------------------

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def migration_url(self) -> str:
        """The URL migrations run as: MIGRATION_DATABASE_URL, else DATABASE_URL.

        Resolved here rather than filled in by ``_resolved`` so that a copy made with another
        DATABASE_URL (``replace``) does not keep migrating the first database.
        """
        return self.migration_database_url or self.database_url

    @property
    def broker_is_filesystem(self) -> bool:
        return self.celery_broker_url.startswith("filesystem")

    @property
    def sso_enabled(self) -> bool:
        return bool(self.oidc_issuer)

    @property
    def broker_dir(self) -> Path:
        return Path(self.data_dir) / "broker"

    def secrets(self) -> list[str]:
        """Secret values (keys, passwords inside URLs), for masking in logs."""
        found: list[str] = []
        for var in VARIABLES:
            value = getattr(self, var.field)
            if not var.secret or not value:
                continue
            if "://" in value:
                password = urlsplit(value).password
                if password:
                    found.append(password)
            else:
                found.append(value)
        return [s for s in found if s and len(s) >= 4]

    def describe(self) -> dict[str, Any]:
        """Every setting, secrets masked: for start-up logs and support."""
        out: dict[str, Any] = {}
        for var in VARIABLES:
            value = getattr(self, var.field)
            if var.secret and value:
                value = _mask_url(value) if "://" in value else "***"
            out[var.env] = value
        return out


VARIABLES: tuple[Var, ...] = tuple(Var(item.name.upper(), *item.metadata["setting"]) for item in dataclass_fields(Settings))


# Read from the working directory (where make, gunicorn and celery start); .env.example says so.
DOTENV = ".env"


def environment(dotenv: str | os.PathLike[str] = DOTENV) -> dict[str, str]:
    """The process's environment over the values of a ``.env`` file, if there is one: what is
    exported in the shell wins, and os.environ itself is left as it is."""
    from_file = {name: value for name, value in dotenv_values(dotenv).items() if value is not None}
    return {**from_file, **os.environ}


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from the environment (and ``.env``)."""
    return Settings.from_env(environment())


def reset_settings() -> None:
    """Forget the cached settings (tests that change the environment)."""
    get_settings.cache_clear()


def mask_url(url: str) -> str:
    return _mask_url(url)


_GROUPS = {
    "APP_ENV": "Application",
    "DATABASE_URL": "Database",
    "REDIS_URL": "Redis, cache and Celery",
    "PDF_DIR": "Documents",
    "LLM_PROVIDER": "LLM providers",
    "EXTERNAL_RDB_API_URL": "External contract source",
    "OIDC_ISSUER": "Sign-in",
    "ADMIN_EMAIL": "Seed",
    "API_TOKEN_EXPIRES_DAYS": "Sign-in and abuse limits",
}


def env_example() -> str:
    """The text of .env.example: every variable with its default, grouped, with its help."""
    lines = [
        "# Contract Refund Eligibility: every setting, with its default.",
        "# Copy to .env (or export in your shell); an empty value means the default.",
        "# With nothing set the service runs on its embedded default (SQLite, file-system broker, local provider).",
        "# Regenerate with: python -m pipeline.core.settings env-example > .env.example",
        "",
    ]
    for var in VARIABLES:
        if var.env in _GROUPS:
            lines.append(f"# --- {_GROUPS[var.env]}")
        lines += [f"# {var.help}", f"{var.env}={var.default}", ""]
    lines += [
        "# --- Read by other tools, not by the settings object",
        "# gunicorn: number of web worker processes (make run / Procfile / Docker)",
        "WEB_CONCURRENCY=2",
        "# boto3 reads AWS credentials itself: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE",
        "",
    ]
    return "\n".join(lines)


def markdown_table() -> str:
    """The README's configuration table."""
    rows = ["| variable | default | what it does |", "|---|---|---|"]
    for var in VARIABLES:
        default = f"`{var.default}`" if var.default else "(empty)"
        rows.append(f"| `{var.env}` | {default} | {var.help} |")
    return "\n".join(rows)


if __name__ == "__main__":  # pragma: no cover - a maintenance helper
    import sys

    print(env_example() if sys.argv[1:] == ["env-example"] else markdown_table())
