"""Run every benchmark in bench/ and write the figures to docs/benchmarks.md.

    .venv/bin/python bench/run_all.py [--quick] [--only NAME ...] [--timeout 1800] [--output docs/benchmarks.md]
    .venv/bin/python bench/run_all.py --list

A benchmark is any script in bench/ that runs as a program (it has an ``if __name__ ==
"__main__"`` block); they run one at a time, in name order, each as its own process with a
time limit, and what each prints is its figures. ``--quick`` gives each script smaller sizes: the
script's own ``QUICK_ARGS = [...]`` when it declares one, else a tenth of the default of each
size option it accepts (``--contracts``, ``--jobs``, ``--rounds``, ...). The report names the
machine, the date, the commit and the exact commands, so anyone can run them again. Benchmarks
share the machine with everything else on it: run them on a quiet one.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BENCH_DATABASE_URL, BENCH_REDIS_URL, ROOT, machine

BENCH_DIR = ROOT / "bench"
DEFAULT_OUTPUT = ROOT / "docs" / "benchmarks.md"
DEFAULT_TIMEOUT = 1800.0
# Integer options that set how much work a benchmark does, scaled down by --quick.
SIZE_OPTIONS = {
    "--contracts", "--searches", "--jobs", "--rounds", "--requests", "--events", "--rows", "--queries",
    "--messages", "--turns", "--iterations", "--samples", "--count", "--n", "--batch", "--batch-size", "--size",
    "--interactive", "--users", "--repeats",
}
QUICK_DIVISOR = 10
STDERR_TAIL_LINES = 30


@dataclass
class Benchmark:
    path: Path
    summary: str
    quick_args: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.stem


@dataclass
class Outcome:
    benchmark: Benchmark
    command: list[str]
    status: str  # ok, failed, timed out
    seconds: float
    stdout: str
    stderr: str
    returncode: int | None


def _is_program(tree: ast.Module) -> bool:
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Compare):
            names = {getattr(n, "id", None) for n in (node.test.left, *node.test.comparators)}
            values = {getattr(n, "value", None) for n in (node.test.left, *node.test.comparators)}
            if "__name__" in names and "__main__" in values:
                return True
    return False


def _declared_quick_args(tree: ast.Module) -> list[str] | None:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "QUICK_ARGS" for t in node.targets):
            return [str(v) for v in ast.literal_eval(node.value)]
    return None


def _size_defaults(tree: ast.Module) -> list[tuple[str, int]]:
    """(option, default) of every ``add_argument("--size-like", type=int, default=N)``."""
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument" and node.args):
            continue
        option = getattr(node.args[0], "value", None)
        keywords = {k.arg: k.value for k in node.keywords}
        default = getattr(keywords.get("default"), "value", None)
        if option in SIZE_OPTIONS and getattr(keywords.get("type"), "id", None) == "int" and isinstance(default, int):
            found.append((option, default))
    return found


def quick_args_for(tree: ast.Module) -> list[str]:
    declared = _declared_quick_args(tree)
    if declared is not None:
        return declared
    args: list[str] = []
    for option, default in _size_defaults(tree):
        args += [option, str(max(default // QUICK_DIVISOR, min(default, 10)))]
    return args


def discover(folder: Path | None = None) -> list[Benchmark]:
    """Every runnable benchmark in the folder (bench/), in name order."""
    found = []
    for path in sorted((folder or BENCH_DIR).glob("*.py")):
        if path.name.startswith("_") or path.name == Path(__file__).name:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        if not _is_program(tree):
            continue
        doc = ast.get_docstring(tree) or ""
        found.append(Benchmark(path=path, summary=doc.strip().splitlines()[0] if doc.strip() else "", quick_args=quick_args_for(tree)))
    return found


def select(benchmarks: list[Benchmark], patterns: list[str]) -> list[Benchmark]:
    """The benchmarks named (stem, file name or glob), in discovery order; unknown names fail."""
    if not patterns:
        return benchmarks
    chosen = []
    for pattern in patterns:
        stem = Path(pattern).stem if pattern.endswith(".py") else pattern
        matches = [b for b in benchmarks if fnmatch.fnmatch(b.name, stem)]
        if not matches:
            raise SystemExit(f"no benchmark matches {pattern!r}; there are: {', '.join(b.name for b in benchmarks)}")
        chosen += [b for b in matches if b not in chosen]
    return [b for b in benchmarks if b in chosen]


def _stop(proc: subprocess.Popen) -> None:
    """Interrupt first (the script's finally blocks stop the servers it started), then insist."""
    for sig, grace in ((signal.SIGINT, 30), (signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def run(benchmark: Benchmark, *, quick: bool, timeout: float, python: str = sys.executable) -> Outcome:
    command = [python, str(benchmark.path), *(benchmark.quick_args if quick else [])]
    started = time.monotonic()
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
        status = "ok" if proc.returncode == 0 else "failed"
    except subprocess.TimeoutExpired:
        _stop(proc)
        stdout, stderr = proc.communicate()
        status = "timed out"
    except KeyboardInterrupt:
        _stop(proc)
        raise
    return Outcome(benchmark, command, status, time.monotonic() - started, stdout or "", stderr or "", proc.returncode)


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def commit_description() -> str:
    commit = _git("rev-parse", "--short=12", "HEAD") or "unknown"
    subject = _git("log", "-1", "--format=%s")
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    text = f"`{commit}`" + (f" ({subject})" if subject else "")
    return text + (", with uncommitted changes in the working tree" if dirty else "")


def machine_details() -> str:
    """bench.common.machine() plus the CPU model and memory where the system says."""
    parts = [machine()]
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                parts.append(line.split(":", 1)[1].strip())
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                parts.append(f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB memory")
                break
    except OSError:
        pass
    return "; ".join(parts)


def _mask(url: str) -> str:
    from pipeline.core.settings import mask_url

    return mask_url(url)


def _display(command: list[str]) -> str:
    python, *rest = command
    try:
        # The interpreter as invoked (a virtualenv's python is a link out of the tree).
        python = os.path.relpath(python, ROOT) if Path(os.path.abspath(python)).is_relative_to(ROOT) else "python"
    except ValueError:
        python = "python"
    return shlex.join([python, *(os.path.relpath(a, ROOT) if a.startswith(str(ROOT)) else a for a in rest)])


def _fence(text: str) -> str:
    return "```text\n" + (text.strip("\n") or "(nothing printed)") + "\n```"


def render(outcomes: list[Outcome], *, quick: bool, started: datetime, rerun_args: list[str]) -> str:
    mode = "quick sizes (`--quick`)" if quick else "full sizes (each script's defaults)"
    rerun = shlex.join(["make", "bench"] + ([f"BENCH_ARGS={shlex.join(rerun_args)}"] if rerun_args else []))
    lines = [
        "# Benchmarks",
        "",
        "Written by `bench/run_all.py`; every figure below is what a script printed. They measure this",
        "machine on this day, with PostgreSQL, Redis, the web processes, the workers and the provider",
        "simulator all sharing it: read them as orders of magnitude and ratios, and run them again",
        "before relying on them.",
        "",
        f"- Date: {started.strftime('%Y-%m-%d %H:%M')} UTC",
        f"- Commit: {commit_description()}",
        f"- Machine: {machine_details()}",
        f"- Sizes: {mode}",
        f"- Services: PostgreSQL `{_mask(BENCH_DATABASE_URL)}` (recreated by each script that needs it), Redis `{_mask(BENCH_REDIS_URL)}`",
        "",
        "| benchmark | measures | outcome | wall time |",
        "|---|---|---|---|",
    ]
    for o in outcomes:
        outcome = o.status if o.status != "failed" else f"failed (exit {o.returncode})"
        lines.append(f"| `bench/{o.benchmark.path.name}` | {o.benchmark.summary.replace('|', '/')} | {outcome} | {o.seconds:.0f} s |")
    for o in outcomes:
        lines += ["", f"## {o.benchmark.name}", "", o.benchmark.summary, "", f"`{_display(o.command)}`", "", _fence(o.stdout)]
        if o.status != "ok":
            tail = "\n".join(o.stderr.strip().splitlines()[-STDERR_TAIL_LINES:])
            lines += ["", f"It {o.status}; the end of its error output:", "", _fence(tail)]
    lines += [
        "",
        "## How to reproduce",
        "",
        "With PostgreSQL and Redis running as for the tests (see the README), from the repository root:",
        "",
        "```sh",
        "# this report",
        rerun,
        "# every benchmark at its default sizes, or at a tenth of them",
        "make bench",
        "make bench BENCH_ARGS=--quick",
        "# some of them (names, or globs such as 'queue_*')",
        "make bench BENCH_ARGS='--only search_latency local_extractor_speed'",
        "# what there is, with the quick sizes",
        ".venv/bin/python bench/run_all.py --list",
        "```",
        "",
        "Each benchmark also runs on its own with the command shown above it (`--help` lists its",
        "options). They use `BENCH_DATABASE_URL` (default",
        "`postgresql://postgres@127.0.0.1:5432/cre_bench`) and `BENCH_REDIS_URL` (default",
        "`redis://127.0.0.1:6379/14`), never the test or production databases. Stop anything else",
        "busy on the machine first: the benchmarks measure CPU and latency, and share both with it.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a tenth of each size option, or the script's QUICK_ARGS)")
    parser.add_argument("--only", nargs="+", default=[], metavar="NAME", help="run only these benchmarks (name, file name or glob)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds one benchmark may take before it is stopped")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where the report is written")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and their quick sizes, run nothing")
    args = parser.parse_args(argv)

    benchmarks = select(discover(), args.only)
    if args.list:
        for b in benchmarks:
            print(f"{b.name:<28} {shlex.join(b.quick_args) or '(no size options)':<40} {b.summary}")
        return 0

    started = datetime.now(timezone.utc)
    outcomes = []
    for n, benchmark in enumerate(benchmarks, start=1):
        print(f"[{n}/{len(benchmarks)}] {benchmark.name} ...", flush=True)
        outcome = run(benchmark, quick=args.quick, timeout=args.timeout)
        outcomes.append(outcome)
        print(outcome.stdout.rstrip("\n"), flush=True)
        print(f"[{n}/{len(benchmarks)}] {benchmark.name}: {outcome.status} in {outcome.seconds:.0f} s", flush=True)
    output = args.output if args.output.is_absolute() else Path.cwd() / args.output
    output.parent.mkdir(parents=True, exist_ok=True)
    rerun_args = (["--quick"] if args.quick else []) + (["--only", *args.only] if args.only else [])
    if args.timeout != DEFAULT_TIMEOUT:
        rerun_args += ["--timeout", f"{args.timeout:g}"]
    output.write_text(render(outcomes, quick=args.quick, started=started, rerun_args=rerun_args))
    print(f"report written to {output}")
    return 0 if all(o.status == "ok" for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
