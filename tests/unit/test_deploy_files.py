"""docker-compose.yml and the Procfile keep the two database roles apart: only the migration step
connects as the owner; every process of the service connects as the role that owns nothing."""

import os

import yaml
from sqlalchemy.engine import make_url

from tests.conftest import ROOT

INIT = ROOT / "deploy" / "postgres-init"


def _services():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def test_only_the_migrate_service_connects_as_the_owner():
    services = {name: s for name, s in _services().items() if "DATABASE_URL" in s.get("environment", {})}
    assert {"migrate", "web", "worker", "interactive-worker", "beat"} <= set(services)
    for name, service in services.items():
        env = service["environment"]
        assert make_url(env["DATABASE_URL"]).username == "cre_app", name
        if name == "migrate":
            assert make_url(env["MIGRATION_DATABASE_URL"]).username == "cre_owner"
            assert service["command"] == ["flask", "--app", "api", "db", "upgrade"]
        else:
            assert "MIGRATION_DATABASE_URL" not in env, name


def test_postgres_creates_both_roles_on_a_new_volume():
    postgres = _services()["postgres"]
    assert "./deploy/postgres-init:/docker-entrypoint-initdb.d:ro" in postgres["volumes"]
    scripts = sorted(INIT.glob("*.sh"))
    assert scripts and all(os.access(s, os.X_OK) for s in scripts)
    text = "".join(s.read_text() for s in scripts)
    assert "CRE_OWNER_ROLE:-cre_owner" in text and "CRE_APP_ROLE:-cre_app" in text
    assert {"CRE_OWNER_PASSWORD", "CRE_APP_PASSWORD"} <= set(postgres["environment"])


def test_the_release_step_migrates():
    lines = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert lines["release"].strip() == "flask --app api db upgrade"


def test_flower_is_guarded_and_published_on_loopback_only():
    flower = _services()["flower"]
    assert flower["command"] == ["python", "-m", "workers.flower"]
    assert all(str(port).startswith("127.0.0.1:") for port in flower["ports"])
    env = flower["environment"]
    assert "FLOWER_BASIC_AUTH" in env and make_url(env["DATABASE_URL"]).username == "cre_app"
    lines = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert lines["flower"].strip() == "python -m workers.flower"
