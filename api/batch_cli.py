"""``flask batch``: bulk extraction and portfolio refund quotes for operators.

    flask batch extract --all [--provider NAME]        every contract without an extraction
    flask batch extract --file IDS.txt [--provider]    the contracts listed, one id per line
    flask batch quote FILE.csv [--output RESULTS.csv]  a refund quote per cancellation in the CSV
    flask batch status BATCH_ID [--wait]               a batch's progress

``extract`` submits the batch (straight to the database, in chunks, like the API does), then
follows it with a progress bar on standard error (rate and time left) until every job has
finished, and prints a summary on standard output. Ctrl-C stops following, not the batch.

Exit status: 0 every job succeeded (or there was nothing to do); 1 some jobs failed; 2 invalid
input (unreadable file, a malformed line, ids that name no contract, an unknown provider or
batch); 3 stopped following (``--timeout``) before the batch finished; 130 interrupted.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import click
from flask.cli import AppGroup

from api.current import settings as current_settings
from pipeline.batches import service as batches
from pipeline.core import db
from pipeline.core.errors import NotFound, ValidationFailed
from pipeline.core.settings import LLM_PROVIDERS
from pipeline.batches import quotes as portfolio

EXIT_OK, EXIT_FAILED, EXIT_INPUT, EXIT_TIMEOUT, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
BAR_WIDTH = 30
# Without a terminal (a log file, CI), one progress line this often instead of a redrawn bar.
PLAIN_EVERY_SECONDS = 10.0


class BadLine(ValueError):
    def __init__(self, path: str, line: int, text: str) -> None:
        super().__init__(f"{path}, line {line}: not a contract id: {text[:60]!r}")


class IdFile:
    """Contract ids from a file, one per line (blank lines and # comments ignored), read lazily.

    Iterable more than once (the batch reads the ids twice: to check them, then to write the
    jobs), so a file of a million ids is never held in memory. Standard input is read once and
    kept.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._kept: list[uuid.UUID] | None = None
        if path == "-":
            self._kept = list(self._parse(sys.stdin))
        else:
            with open(path, encoding="utf-8") as stream:  # fail now, with the right message
                stream.read(1)

    def _parse(self, stream) -> Iterator[uuid.UUID]:  # a text stream
        for number, raw in enumerate(stream, start=1):
            text = raw.strip()
            if not text or text.startswith("#"):
                continue
            try:
                yield uuid.UUID(text)
            except ValueError:
                raise BadLine(self.path, number, text) from None

    def __iter__(self) -> Iterator[uuid.UUID]:
        if self._kept is not None:
            yield from self._kept
            return
        with open(self.path, encoding="utf-8") as stream:
            yield from self._parse(stream)


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def progress_line(state: dict[str, Any], rate: float | None) -> str:
    """``[#####-----]  1234/5000  24.7%  38.2/s  ETA 1:38  (3 failed)``"""
    total, done = state["total"], state["done"]
    filled = int(BAR_WIDTH * done / total) if total else BAR_WIDTH
    remaining = state["queued"] + state["running"]
    eta = remaining / rate if rate else None
    line = (
        f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {done}/{total} {state['percent']:5.1f}%  "
        f"{rate or 0:.1f}/s  ETA {_clock(eta) if remaining else '0:00'}"
    )
    if state["failed"]:
        line += f"  ({state['failed']} failed)"
    return line


def _read(batch_id: uuid.UUID) -> dict[str, Any]:
    with db.unit_of_work(current_settings()) as session:  # committed: the status may move on
        return batches.progress(session=session, batch_id=batch_id, failures_shown=10)


def follow(batch_id: uuid.UUID, *, interval: float, timeout: float) -> dict[str, Any] | None:
    """Redraw the bar until the batch is completed; its last state, or None on timeout."""
    tty = sys.stderr.isatty()
    started = time.monotonic()
    state = _read(batch_id)
    first_done, last_plain = state["done"], 0.0
    while True:
        elapsed = time.monotonic() - started
        # The rate seen while following; the batch's own throughput until there is one.
        rate = (state["done"] - first_done) / elapsed if elapsed > 0 and state["done"] > first_done else state["throughput_per_second"]
        line = progress_line(state, rate)
        finished = state["status"] == "completed"
        if tty:
            click.echo(f"\r{line}\x1b[K", err=True, nl=finished)
        elif finished or time.monotonic() - last_plain >= PLAIN_EVERY_SECONDS:
            click.echo(line, err=True)
            last_plain = time.monotonic()
        if finished:
            return state
        if timeout and elapsed >= timeout:
            if tty:
                click.echo(err=True)
            return None
        time.sleep(interval)
        state = _read(batch_id)


def summary(state: dict[str, Any]) -> str:
    lines = [
        f"batch {state['batch_id']} {state['status']}: {state['succeeded']} succeeded, {state['failed']} failed, "
        f"{state['skipped']} skipped, {state['total']} jobs"
    ]
    if state["elapsed_seconds"] is not None:
        rate = f" ({state['throughput_per_second']:.1f}/s)" if state["throughput_per_second"] else ""
        lines.append(f"  started {state['started_at']}, {'finished ' + state['finished_at'] if state['finished_at'] else 'still running'}, {state['elapsed_seconds']:.1f}s{rate}")
    if state["queued"] or state["running"]:
        lines.append(f"  {state['queued']} queued, {state['running']} running")
    for reason in state["failure_reasons"]:
        lines.append(f"  {reason['count']} x {reason['error']}")
    return "\n".join(lines)


def _finish(state: dict[str, Any] | None, batch_id: uuid.UUID) -> None:
    if state is None:
        click.echo(summary(_read(batch_id)))
        click.echo(f"stopped following; the batch goes on: flask batch status {batch_id} --wait", err=True)
        sys.exit(EXIT_TIMEOUT)
    click.echo(summary(state))
    sys.exit(EXIT_FAILED if state["failed"] else EXIT_OK)


@click.group("batch", cls=AppGroup, help="Bulk extraction and portfolio refund quotes.")
def batch_group() -> None:
    pass


@batch_group.command("extract")
@click.option("--all", "all_unextracted", is_flag=True, help="every contract that has no extraction yet")
@click.option("--file", "path", type=click.Path(dir_okay=False, allow_dash=True), help="contract ids, one per line (- for standard input)")
@click.option("--provider", type=click.Choice(LLM_PROVIDERS), help="provider to ask first (default: LLM_PROVIDER)")
@click.option("--wait/--no-wait", default=True, show_default=True, help="follow the batch until it finishes")
@click.option("--interval", default=1.0, show_default=True, help="seconds between progress updates")
@click.option("--timeout", default=0.0, show_default=True, help="stop following after this many seconds (0: never)")
def batch_extract(all_unextracted: bool, path: str | None, provider: str | None, wait: bool, interval: float, timeout: float) -> None:
    """Extract many contracts on the bulk queue, then follow the batch.

    Contracts that already have an extraction, or a job queued or running, are skipped. Exit
    status: 0 all succeeded, 1 some failed, 2 invalid input, 3 --timeout reached, 130 Ctrl-C.
    """
    if all_unextracted == (path is not None):
        click.echo("give either --all or --file IDS.txt", err=True)
        sys.exit(EXIT_INPUT)
    settings = current_settings()
    try:
        ids = IdFile(path) if path is not None else None
        created = batches.create(
            factory=db.session_factory(settings),
            settings=settings,
            contract_ids=ids,
            all_unextracted=all_unextracted,
            provider=provider,
            request_id=f"cli-{uuid.uuid4().hex[:16]}",
            on_chunk=lambda total, skipped: click.echo(f"\rsubmitting: {total} jobs, {skipped} skipped", err=True, nl=False) if sys.stderr.isatty() else None,
        )
    except OSError as exc:
        click.echo(f"cannot read {path}: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_INPUT)
    except (BadLine, UnicodeDecodeError) as exc:
        click.echo(f"{exc if isinstance(exc, BadLine) else f'cannot read {path}: not UTF-8 text'}", err=True)
        sys.exit(EXIT_INPUT)
    except ValidationFailed as exc:
        click.echo(exc.message, err=True)
        for unknown in exc.details.get("json", {}).get("contract_ids", []):
            click.echo(f"  {unknown}", err=True)
        sys.exit(EXIT_INPUT)
    if sys.stderr.isatty():
        click.echo(err=True)
    click.echo(f"batch {created.batch_id}: {created.total} jobs on the bulk queue, {created.skipped} contracts skipped")
    if created.total == 0:
        click.echo("nothing to do")
        sys.exit(EXIT_OK)
    if not wait:
        sys.exit(EXIT_OK)
    try:
        _finish(follow(created.batch_id, interval=interval, timeout=timeout), created.batch_id)
    except KeyboardInterrupt:
        click.echo(f"\nstopped following; the batch goes on: flask batch status {created.batch_id} --wait", err=True)
        sys.exit(EXIT_INTERRUPTED)


@batch_group.command("quote")
@click.argument("path", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--output", type=click.Path(dir_okay=False, writable=True), help="write the results CSV here once the batch has finished")
@click.option("--wait/--no-wait", default=True, show_default=True, help="follow the batch until it finishes")
@click.option("--interval", default=1.0, show_default=True, help="seconds between progress updates")
@click.option("--timeout", default=0.0, show_default=True, help="stop following after this many seconds (0: never)")
def batch_quote(path: str, output: str | None, wait: bool, interval: float, timeout: float) -> None:
    """Quote a refund for every cancellation in a CSV file, on the bulk queue.

    Columns: contract_id or account_number, cancellation_date (YYYY-MM-DD), reason, and optionally
    claim_paid (true/false). A bad row (or one naming no contract) refuses the whole file, every
    bad line listed. Exit status: 0 all quoted, 1 some could not be quoted, 2 invalid input, 3
    --timeout reached, 130 Ctrl-C.
    """
    settings = current_settings()
    try:
        if path == "-":
            rows = portfolio.read_csv(sys.stdin)
        else:
            with open(path, encoding="utf-8-sig", newline="") as stream:
                rows = portfolio.read_csv(stream)
        created = portfolio.create(
            factory=db.session_factory(settings), settings=settings, cancellations=rows,
            request_id=f"cli-{uuid.uuid4().hex[:16]}",
        )
    except OSError as exc:
        click.echo(f"cannot read {path}: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_INPUT)
    except UnicodeDecodeError:
        click.echo(f"cannot read {path}: not UTF-8 text", err=True)
        sys.exit(EXIT_INPUT)
    except portfolio.BadRows as exc:
        click.echo(exc.message.split(". ", 1)[0], err=True)
        for row in exc.details["rows"]:
            where = "line" if "line" in row else "row"
            click.echo(f"  {path}, {where} {row[where]}: {row['problem']}", err=True)
        sys.exit(EXIT_INPUT)
    click.echo(f"batch {created.batch_id}: {created.total} refund-quote jobs on the bulk queue")
    if not wait:
        sys.exit(EXIT_OK)
    try:
        state = follow(created.batch_id, interval=interval, timeout=timeout)
    except KeyboardInterrupt:
        click.echo(f"\nstopped following; the batch goes on: flask batch status {created.batch_id} --wait", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if state is not None and output:
        with open(output, "w", encoding="utf-8", newline="") as stream:
            for chunk in portfolio.results_csv(factory=db.session_factory(settings), batch_id=created.batch_id):
                stream.write(chunk)
        click.echo(f"results written to {output}")
    _finish(state, created.batch_id)


@batch_group.command("status")
@click.argument("batch_id")
@click.option("--wait", is_flag=True, help="follow the batch with a progress bar until it finishes")
@click.option("--interval", default=1.0, show_default=True, help="seconds between progress updates")
@click.option("--timeout", default=0.0, show_default=True, help="stop following after this many seconds (0: never)")
def batch_status(batch_id: str, wait: bool, interval: float, timeout: float) -> None:
    """Show a batch's progress: counts, times, throughput, failures.

    Exit status: 0 shown (with --wait: all succeeded), 1 with --wait: some failed, 2 no such
    batch, 3 --timeout reached, 130 Ctrl-C.
    """
    try:
        key = uuid.UUID(batch_id)
    except ValueError:
        click.echo(f"not a batch id: {batch_id!r}", err=True)
        sys.exit(EXIT_INPUT)
    try:
        state = _read(key)
    except NotFound as exc:
        click.echo(exc.message, err=True)
        sys.exit(EXIT_INPUT)
    if not wait:
        click.echo(summary(state))
        for failure in state["failures"]:
            click.echo(f"  failed: contract {failure['contract_id']} (job {failure['job_id']}): {failure['error']}")
        sys.exit(EXIT_OK)
    try:
        _finish(follow(key, interval=interval, timeout=timeout), key)
    except KeyboardInterrupt:
        click.echo(f"\nstopped following; the batch goes on: flask batch status {key} --wait", err=True)
        sys.exit(EXIT_INTERRUPTED)
