"""The layout's rules, read from the source: imports point down, and only units of work commit.

``pipeline`` is one package per part of the domain. A package imports only packages in a lower
layer (README, "Layout"); ``pipeline`` never imports ``api`` or ``workers``; ``models`` imports
from ``pipeline`` only its vocabulary.
"""

from __future__ import annotations

import ast
import re

from tests.conftest import ROOT

# Lowest first. A package (or top-level module) of pipeline may import those of lower layers only.
LAYERS = (
    {"vocabulary"},
    {"core"},
    {"text"},
    {"audit"},
    {"users", "identity", "jobs", "providers"},
    {"ops", "contracts"},
    {"extraction"},
    {"refunds"},  # the quote: pure formulas and rules at its heart, read from the extraction
    {"chat", "batches"},
    {"kinds"},
    {"maintenance", "seed"},
)
LAYER = {name: level for level, names in enumerate(LAYERS) for name in names}


def _imports(path):
    """Every module a file imports (``from pipeline import audit`` is ``pipeline.audit``)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "pipeline":
                yield from (f"pipeline.{alias.name}" for alias in node.names)
            else:
                yield node.module


def _unit(module: str) -> str:
    return module.split(".")[1]


def _pipeline_files():
    return sorted((ROOT / "pipeline").rglob("*.py"))


def test_every_part_of_pipeline_has_a_layer():
    units = {p.relative_to(ROOT / "pipeline").parts[0].removesuffix(".py") for p in _pipeline_files()} - {"__init__"}
    assert units <= set(LAYER), f"place {sorted(units - set(LAYER))} in LAYERS"


def test_pipeline_imports_point_down():
    wrong = []
    for path in _pipeline_files():
        here = path.relative_to(ROOT / "pipeline").parts[0].removesuffix(".py")
        for module in _imports(path):
            top = module.split(".")[0]
            if top in ("api", "workers"):
                wrong.append(f"{path.relative_to(ROOT)} imports {module} (pipeline never imports {top})")
            elif top == "pipeline" and module != "pipeline" and here != "__init__":
                there = _unit(module)
                if there != here and LAYER.get(there, 99) >= LAYER[here]:
                    wrong.append(f"{path.relative_to(ROOT)} ({here}) imports {module} ({there}), not below it")
    assert wrong == []


def test_models_import_only_the_vocabulary_from_pipeline():
    wrong = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in sorted((ROOT / "models").rglob("*.py"))
        for module in _imports(path)
        if module.startswith("pipeline") and module != "pipeline.vocabulary"
    ]
    assert wrong == []


def test_nothing_in_pipeline_commits_but_the_unit_of_work():
    """Pipeline functions take a session (the caller owns the transaction) or a unit-of-work
    factory (``pipeline.core.db``); a stray ``commit()`` is a half-done write waiting to happen."""
    commits = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _pipeline_files()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\.commit\(\)", line)
    ]
    assert commits == []


def _lines(*folders):
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                yield f"{path.relative_to(ROOT)}:{number}", line


def test_no_module_registers_itself_by_being_imported():
    """Job kinds are listed in pipeline.kinds.KINDS; nothing is imported for its side effects."""
    assert [where for where, line in _lines("pipeline", "workers", "api") if "noqa: F401 - registers" in line] == []


def test_noqa_names_only_rules_that_lint_runs():
    """``make lint`` runs ``ruff check --select F,E9``: a noqa for any other rule silences nothing."""
    stray = [
        where
        for where, line in _lines("api", "workers", "pipeline", "models", "migrations", "tests", "bench")
        for codes in re.findall(r"# noqa: ([A-Z0-9, ]+)", line)
        if not all(re.fullmatch(r"F\d+|E9\d*", code.strip()) for code in codes.split(","))
    ]
    assert stray == []
