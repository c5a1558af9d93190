"""README.md and .env.example document every setting with its default."""

import re

from pipeline.core.settings import VARIABLES
from tests.conftest import ROOT


def test_every_variable_is_in_the_readme_with_its_default():
    readme = (ROOT / "README.md").read_text()
    for var in VARIABLES:
        row = re.search(rf"^\| `{var.env}` \| (.+?) \|", readme, re.MULTILINE)
        assert row, f"{var.env} missing from README's configuration table"
        expected = f"`{var.default}`" if var.default else "(empty)"
        assert row.group(1) == expected, f"README gives {var.env} the default {row.group(1)}"


def test_every_variable_is_in_env_example_with_its_default():
    lines = (ROOT / ".env.example").read_text().splitlines()
    assigned = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    for var in VARIABLES:
        assert assigned.get(var.env) == var.default, var.env


def test_readme_opens_with_the_two_commands():
    head = (ROOT / "README.md").read_text().split("\n## ")[0]
    assert "make run" in head and "make test" in head
