"""Which requests are audited, how the exclusions are configured, how trail filters are checked."""

from datetime import datetime, timezone

import pytest

from api.middleware import is_audited
from pipeline.audit import TrailFilter
from pipeline.core.errors import ValidationFailed
from pipeline.core.settings import VARIABLES, ConfigError, Settings

DEFAULT = Settings.from_env({}).audit_request_exclude


@pytest.mark.parametrize(
    ("method", "path", "audited"),
    [
        ("POST", "/api/v1/contracts/search", True),
        ("GET", "/api/v1/contracts/0b6c3f0e-2f6a-4c36-9d0e-6c1f4f6f8a11/pdf", True),
        ("POST", "/api/v1/extractions/5d1f9a3e-8b7c-4e2a-9f1d-3c2b1a0e9d8c/submit", True),
        ("GET", "/api/v1/audit/contract/0b6c3f0e-2f6a-4c36-9d0e-6c1f4f6f8a11", True),
        ("POST", "/api/v1/batches", True),
        ("GET", "/api/v1/batches/3f0c2b1a-9d8e-4c7b-a6f5-1e2d3c4b5a69", False),
        ("GET", "/api/v1/jobs/3f0c2b1a-9d8e-4c7b-a6f5-1e2d3c4b5a69", False),
        ("GET", "/api/v1/jobs/3f0c2b1a-9d8e-4c7b-a6f5-1e2d3c4b5a69/events", False),
        ("GET", "/api/v1/jobsearch", True),  # a prefix ends at a path segment
        ("GET", "/health", False),
        ("GET", "/ready", False),
        ("GET", "/docs", False),
        ("GET", "/docs/static/swagger-ui.css", False),
        ("GET", "/openapi.json", False),
        ("GET", "/metrics", False),
        ("GET", "/api/v1/admin/metrics", False),
        ("OPTIONS", "/api/v1/contracts/search", False),
        ("HEAD", "/api/v1/contracts/0b6c3f0e-2f6a-4c36-9d0e-6c1f4f6f8a11", False),
    ],
)
def test_default_exclusions(method, path, audited):
    assert is_audited(method, path, DEFAULT) is audited


def test_exclusions_are_parsed_from_the_environment():
    settings = Settings.from_env({"AUDIT_REQUEST_EXCLUDE": " /health , get /api/v1/contracts/ ,"})
    assert settings.audit_request_exclude == (("", "/health"), ("GET", "/api/v1/contracts"))
    assert not is_audited("GET", "/api/v1/contracts/x", settings.audit_request_exclude)
    assert is_audited("POST", "/api/v1/contracts/search", settings.audit_request_exclude)
    assert not is_audited("POST", "/anything", Settings.from_env({"AUDIT_REQUEST_EXCLUDE": "/"}).audit_request_exclude)


@pytest.mark.parametrize("raw", ["health", "FETCH /api/v1/jobs", "GET api/v1/jobs"])
def test_a_malformed_exclusion_stops_start_up(raw):
    with pytest.raises(ConfigError, match="AUDIT_REQUEST_EXCLUDE"):
        Settings.from_env({"AUDIT_REQUEST_EXCLUDE": raw})


def test_the_variable_is_declared_once():
    assert [v.env for v in VARIABLES].count("AUDIT_REQUEST_EXCLUDE") == 1


def test_trail_filters_are_checked():
    naive = TrailFilter(("view", "approve", "view"), datetime(2026, 11, 28), None).checked()
    assert naive.event_types == ("view", "approve")
    assert naive.since == datetime(2026, 11, 28, tzinfo=timezone.utc)
    with pytest.raises(ValidationFailed, match="edit"):
        TrailFilter(("edit",)).checked()
    with pytest.raises(ValidationFailed, match="since must be before until"):
        TrailFilter((), datetime(2026, 11, 28, tzinfo=timezone.utc), datetime(2026, 11, 28, tzinfo=timezone.utc)).checked()
