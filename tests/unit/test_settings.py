import os

import pytest

from pipeline.core.settings import VARIABLES, ConfigError, Settings


def test_nothing_set_gives_the_embedded_default():
    s = Settings.from_env({})
    assert s.database_url == "sqlite:///var/cre.sqlite3"
    assert s.is_sqlite
    assert s.redis_url == ""
    assert s.celery_broker_url == "filesystem://"
    assert s.pdf_dir == "var/pdfs"
    assert s.llm_provider == "local"
    assert s.port == 8000


def test_redis_url_becomes_the_broker_unless_one_is_given():
    s = Settings.from_env({"REDIS_URL": "redis://cache:6379/0"})
    assert s.celery_broker_url == "redis://cache:6379/0"
    s = Settings.from_env({"REDIS_URL": "redis://cache:6379/0", "CELERY_BROKER_URL": "amqp://guest:guest@mq:5672//"})
    assert s.celery_broker_url.startswith("amqp://")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DATABASE_POOL_SIZE": "lots"}, "DATABASE_POOL_SIZE"),
        ({"DATABASE_POOL_SIZE": "0"}, "DATABASE_POOL_SIZE"),
        ({"PORT": "70000"}, "PORT"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
        ({"APP_ENV": "prod"}, "APP_ENV"),
        ({"DATABASE_URL": "mysql://db/x"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://cache"}, "REDIS_URL"),
        ({"LLM_PROVIDER": "gpt"}, "LLM_PROVIDER"),
        ({"LLM_PROVIDER": "openai"}, "OPENAI_API_KEY"),
        ({"LLM_PROVIDER": "anthropic"}, "ANTHROPIC_API_KEY"),
        ({"CORS_ORIGINS": "localhost:3000"}, "CORS_ORIGINS"),
        ({"CELERY_TASK_TIME_LIMIT": "4000"}, "CELERY_VISIBILITY_TIMEOUT"),
        ({"APP_ENV": "production"}, "DATABASE_URL"),
        ({"APP_ENV": "production", "DATABASE_URL": "postgresql://db/x"}, "REDIS_URL"),
        ({"MIGRATION_DATABASE_URL": "mysql://db/x"}, "MIGRATION_DATABASE_URL"),
        ({"MIGRATION_DATABASE_URL": "postgresql://owner@db/x"}, "MIGRATION_DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://app@db/x", "MIGRATION_DATABASE_URL": "sqlite:///m.sqlite3"}, "MIGRATION_DATABASE_URL"),
    ],
)
def test_invalid_configuration_names_the_variable(env, named):
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(env)


def test_heroku_style_postgres_url_is_accepted():
    s = Settings.from_env({"DATABASE_URL": "postgres://u:p@db:5432/cre"})
    assert s.database_url == "postgresql://u:p@db:5432/cre"


def test_describe_masks_secrets_and_lists_every_variable():
    s = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://app:s3cret-pass@db/cre",
            "MIGRATION_DATABASE_URL": "postgresql://owner:0wner-pass@db/cre",
            "OPENAI_API_KEY": "sk-test-abcdefghijklmnop",
            "LLM_PROVIDER": "openai",
        }
    )
    described = s.describe()
    assert set(described) == {v.env for v in VARIABLES}
    text = repr(described)
    assert "s3cret-pass" not in text and "0wner-pass" not in text and "sk-test-abcdefghijklmnop" not in text
    assert described["DATABASE_URL"] == "postgresql://app:***@db/cre"
    assert described["MIGRATION_DATABASE_URL"] == "postgresql://owner:***@db/cre"
    assert set(s.secrets()) == {"s3cret-pass", "0wner-pass", "sk-test-abcdefghijklmnop"}


def test_migrations_run_as_database_url_unless_an_owner_url_is_given():
    assert Settings.from_env({}).migration_url == "sqlite:///var/cre.sqlite3"
    one = Settings.from_env({"DATABASE_URL": "postgres://app@db/cre"})
    assert one.migration_database_url == "" and one.migration_url == "postgresql://app@db/cre"
    two = Settings.from_env({"DATABASE_URL": "postgresql://app@db/cre", "MIGRATION_DATABASE_URL": "postgres://owner@db/cre"})
    assert two.migration_url == "postgresql://owner@db/cre"
    # A copy on another database migrates that database, not the first.
    assert one.replace(database_url="postgresql://app@db/other").migration_url == "postgresql://app@db/other"


def test_blank_values_fall_back_to_defaults():
    assert Settings.from_env({"PORT": "  ", "LOG_LEVEL": ""}).port == 8000


def test_replace_is_checked():
    s = Settings.from_env({})
    with pytest.raises(ConfigError):
        s.replace(celery_task_time_limit=10_000)


# --- sign-in (OIDC) -----------------------------------------------------------------------------

_SSO = {"OIDC_ISSUER": "https://lender.example.okta.com/oauth2/default", "OIDC_AUDIENCE": "api://refunds"}


def test_single_sign_on_is_off_by_default_and_on_with_an_issuer():
    assert not Settings.from_env({}).sso_enabled
    s = Settings.from_env(_SSO)
    assert s.sso_enabled
    assert s.oidc_audience == ("api://refunds",)
    assert s.oidc_algorithms == ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
    assert (s.oidc_leeway_seconds, s.oidc_jwks_min_refresh_seconds, s.oidc_http_timeout) == (60, 30, 5)
    assert s.oidc_auto_provision_role == "" and s.oidc_jwks_url == ""


@pytest.mark.parametrize("issuer", ["http://localhost:8080/realms/x", "http://127.0.0.1:9000", "http://127.3.4.5", "http://[::1]:9000/"])
def test_plain_http_issuer_is_allowed_on_loopback_only(issuer):
    assert Settings.from_env({**_SSO, "OIDC_ISSUER": issuer}).oidc_issuer == issuer


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"OIDC_ISSUER": "http://idp.example.com"}, "OIDC_ISSUER"),
        ({"OIDC_ISSUER": "http://10.0.0.5:8080"}, "OIDC_ISSUER"),
        ({"OIDC_ISSUER": "http://localhost.example.com"}, "OIDC_ISSUER"),
        ({"OIDC_ISSUER": "ftp://idp.example.com"}, "OIDC_ISSUER"),
        ({"OIDC_ISSUER": "https://user:pw@idp.example.com"}, "OIDC_ISSUER"),
        ({"OIDC_JWKS_URL": "http://idp.example.com/keys"}, "OIDC_JWKS_URL"),
        ({"OIDC_AUDIENCE": ""}, "OIDC_AUDIENCE"),
        ({"OIDC_ALGORITHMS": "RS256,none"}, "OIDC_ALGORITHMS"),
        ({"OIDC_ALGORITHMS": "HS256"}, "OIDC_ALGORITHMS"),
        ({"OIDC_ALGORITHMS": "RS256,hs512"}, "OIDC_ALGORITHMS"),
        ({"OIDC_ALGORITHMS": "RS257"}, "OIDC_ALGORITHMS"),
        ({"OIDC_ALGORITHMS": " , "}, "OIDC_ALGORITHMS"),
        ({"OIDC_AUTO_PROVISION_ROLE": "superuser"}, "OIDC_AUTO_PROVISION_ROLE"),
        ({"OIDC_LEEWAY_SECONDS": "-1"}, "OIDC_LEEWAY_SECONDS"),
        ({"OIDC_JWKS_MIN_REFRESH_SECONDS": "0"}, "OIDC_JWKS_MIN_REFRESH_SECONDS"),
        ({"OIDC_HTTP_TIMEOUT": "0"}, "OIDC_HTTP_TIMEOUT"),
    ],
)
def test_invalid_sign_in_configuration_names_the_variable(env, named):
    with pytest.raises(ConfigError, match=named):
        Settings.from_env({**_SSO, **env})


def test_jwks_url_without_an_issuer_is_refused():
    with pytest.raises(ConfigError, match="OIDC_ISSUER"):
        Settings.from_env({"OIDC_JWKS_URL": "https://idp.example.com/keys"})


def test_sign_in_lists_are_parsed():
    s = Settings.from_env({**_SSO, "OIDC_AUDIENCE": "api://refunds, spa-client", "OIDC_ALGORITHMS": "es256, RS256,ES256", "OIDC_AUTO_PROVISION_ROLE": "Auditor"})
    assert s.oidc_audience == ("api://refunds", "spa-client")
    assert s.oidc_algorithms == ("ES256", "RS256")
    assert s.oidc_auto_provision_role == "auditor"


def test_settings_know_the_same_roles_as_the_users_table():
    from models import USER_ROLES as MODEL_ROLES
    from pipeline.core.settings import USER_ROLES

    assert USER_ROLES == MODEL_ROLES


def test_a_dotenv_file_fills_in_what_the_environment_does_not_set(tmp_path, monkeypatch):
    from pipeline.core.settings import environment

    dotenv = tmp_path / ".env"
    dotenv.write_text("LOG_LEVEL=DEBUG\nCORS_ORIGINS=https://from-the-file.example\n")
    monkeypatch.setenv("LOG_LEVEL", "ERROR")
    monkeypatch.delenv("CORS_ORIGINS", raising=False)
    env = environment(dotenv)
    assert env["LOG_LEVEL"] == "ERROR"  # exported in the shell: the shell wins
    assert env["CORS_ORIGINS"] == "https://from-the-file.example"
    assert "CORS_ORIGINS" not in os.environ  # the process's environment is left as it is
    settings = Settings.from_env(env)
    assert settings.cors_origins == ("https://from-the-file.example",)
    assert environment(tmp_path / "missing.env")["LOG_LEVEL"] == "ERROR"
