"""bench/run_all.py: finds the benchmarks, runs each with a time limit, reports what they printed."""

from __future__ import annotations

import textwrap

import pytest

from bench import run_all

SCRIPTS = {
    "a_prints.py": '''
        """Prints its size.

            python a_prints.py [--contracts 2000]
        """
        import argparse

        if __name__ == "__main__":
            parser = argparse.ArgumentParser()
            parser.add_argument("--contracts", type=int, default=2000)
            parser.add_argument("--workers", type=int, default=4)
            parser.add_argument("--latency", type=float, default=0.5)
            print("contracts", parser.parse_args().contracts)
    ''',
    "b_declares.py": '''
        """Declares its own quick sizes."""
        import sys

        QUICK_ARGS = ["--rounds", "1"]

        if __name__ == "__main__":
            print("args", " ".join(sys.argv[1:]) or "none")
    ''',
    "c_fails.py": '''
        """Fails | loudly."""
        import sys

        if __name__ == "__main__":
            print("half a figure")
            print("Traceback: the database is gone", file=sys.stderr)
            sys.exit(3)
    ''',
    "d_hangs.py": '''
        """Never finishes."""
        import time

        if __name__ == "__main__":
            print("started", flush=True)
            try:
                time.sleep(120)
            finally:
                print("cleaned up", flush=True)
    ''',
    "helpers.py": '''
        """Shared code, not a program."""
        VALUE = 1
    ''',
    "_private.py": '''
        if __name__ == "__main__":
            pass
    ''',
}


@pytest.fixture
def bench_dir(tmp_path):
    for name, source in SCRIPTS.items():
        (tmp_path / name).write_text(textwrap.dedent(source).lstrip())
    return tmp_path


def test_discovers_programs_in_name_order_with_their_quick_sizes(bench_dir):
    found = run_all.discover(bench_dir)
    assert [b.name for b in found] == ["a_prints", "b_declares", "c_fails", "d_hangs"]
    by_name = {b.name: b for b in found}
    assert by_name["a_prints"].summary == "Prints its size."
    # Only size options shrink, to a tenth; the script's own QUICK_ARGS wins.
    assert by_name["a_prints"].quick_args == ["--contracts", "200"]
    assert by_name["b_declares"].quick_args == ["--rounds", "1"]
    assert by_name["c_fails"].quick_args == []


def test_the_real_benchmarks_are_found_and_this_runner_is_not(bench_dir):
    names = [b.name for b in run_all.discover()]
    assert "local_extractor_speed" in names and "search_latency" in names
    assert "run_all" not in names and "common" not in names


def test_select_by_name_file_or_glob_keeps_discovery_order(bench_dir):
    found = run_all.discover(bench_dir)
    assert [b.name for b in run_all.select(found, ["c_fails.py", "a_*"])] == ["a_prints", "c_fails"]
    assert run_all.select(found, []) == found
    with pytest.raises(SystemExit, match="no benchmark matches 'zzz'"):
        run_all.select(found, ["zzz"])


def test_runs_each_script_and_reports_figures_failures_and_timeouts(bench_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(run_all, "BENCH_DIR", bench_dir)
    report = tmp_path / "out" / "benchmarks.md"
    assert run_all.main(["--quick", "--timeout", "2", "--output", str(report)]) == 1  # one failed, one timed out
    text = report.read_text()

    assert "contracts 200" in text and "args --rounds 1" in text
    assert "| `bench/c_fails.py` | Fails / loudly. | failed (exit 3) |" in text
    assert "half a figure" in text and "Traceback: the database is gone" in text
    # The hung script was interrupted, so its own clean-up ran.
    assert "| `bench/d_hangs.py` | Never finishes. | timed out |" in text
    assert "started\ncleaned up" in text
    assert "- Machine: " + run_all.machine() in text
    assert "- Commit: `" in text and "- Date: " in text
    assert "make bench 'BENCH_ARGS=--quick --timeout 2'" in text


def test_full_sizes_pass_no_arguments(bench_dir):
    [benchmark] = run_all.select(run_all.discover(bench_dir), ["b_declares"])
    outcome = run_all.run(benchmark, quick=False, timeout=30)
    assert outcome.status == "ok" and outcome.stdout.strip() == "args none"
