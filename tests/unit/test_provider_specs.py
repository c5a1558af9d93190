"""Each provider's spec says which settings it needs; start-up refuses the same gaps."""

from types import SimpleNamespace

import pytest

from pipeline.core.settings import LLM_PROVIDERS, VARIABLES, ConfigError, Settings
from pipeline.providers.specs import SPECS, spec_for

ENV_OF = {var.field: var.env for var in VARIABLES}


def _value(field):
    return "http://127.0.0.1:9/v1" if field.endswith("base_url") else "x"


def test_one_spec_per_provider_the_settings_accept():
    assert [spec.name for spec in SPECS] == list(LLM_PROVIDERS)
    with pytest.raises(ValueError, match="unknown provider 'gpt'"):
        spec_for("gpt")


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_start_up_needs_what_the_spec_needs(spec):
    complete = {"LLM_PROVIDER": spec.name, **{ENV_OF[field]: _value(field) for field in spec.needs}}
    settings = Settings.from_env(complete)
    assert spec.configured(settings)
    for field in spec.needs:
        with pytest.raises(ConfigError, match=ENV_OF[field]):
            Settings.from_env({**complete, ENV_OF[field]: ""})
        assert not spec.configured(SimpleNamespace(**{f: "" if f == field else _value(f) for f in spec.needs}))
