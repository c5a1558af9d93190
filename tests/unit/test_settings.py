import pytest

from pipeline.settings import VARIABLES, ConfigError, Settings


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
