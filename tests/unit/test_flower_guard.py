"""Flower never runs open outside development."""

import pytest

from pipeline.core.settings import ConfigError, Settings
from workers.flower import flower_arguments


def _settings(**env):
    return Settings.from_env({"DATABASE_URL": "postgresql://app@db/cre", "REDIS_URL": "redis://cache:6379/0", **env})


@pytest.mark.parametrize("env", ["production", "staging"])
def test_outside_development_flower_needs_a_password_or_oauth(env):
    with pytest.raises(ConfigError, match="FLOWER_BASIC_AUTH"):
        flower_arguments(_settings(APP_ENV=env), {}, [])
    with pytest.raises(ConfigError):  # half an OAuth configuration is no configuration
        flower_arguments(_settings(APP_ENV=env), {"FLOWER_AUTH_PROVIDER": "flower.views.auth.GoogleAuth2LoginHandler"}, [])
    args = flower_arguments(_settings(APP_ENV=env, FLOWER_BASIC_AUTH="ops:s3cret"), {}, [])
    assert "--basic-auth=ops:s3cret" in args and "--address=127.0.0.1" in args
    oauth = {"FLOWER_AUTH_PROVIDER": "flower.views.auth.GoogleAuth2LoginHandler", "FLOWER_AUTH": r".*@lender\.example"}
    assert not any(a.startswith("--basic-auth") for a in flower_arguments(_settings(APP_ENV=env), oauth, []))


def test_in_development_flower_may_run_open_on_loopback():
    args = flower_arguments(_settings(APP_ENV="development"), {}, ["--purge_offline_workers=60"])
    assert args[:4] == ["celery", "-A", "workers", "flower"]
    assert "--address=127.0.0.1" in args and "--port=5555" in args and args[-1] == "--purge_offline_workers=60"


def test_the_password_is_masked_in_described_settings():
    assert _settings(FLOWER_BASIC_AUTH="ops:s3cret").describe()["FLOWER_BASIC_AUTH"] == "***"
