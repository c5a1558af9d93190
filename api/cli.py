"""Operator commands: ``flask --app api <command>``.

    flask db upgrade | downgrade REV | current     schema migrations
    flask contracts import FILE.jsonl              load contracts, idempotently
    flask seed                                     demo contracts, PDFs, an admin user and a dev token
    flask users create --email E --role R          a user (the first admin of a deployment)
    flask tokens create --user EMAIL               an API token, printed once on the last line
    flask tokens list [--user EMAIL | --all]       tokens (never the tokens themselves)
    flask tokens revoke TOKEN_ID                   revoke a token at once
    flask worker-check [--queue bulk]              prove a worker consumes a queue
    flask batch extract --all | --file IDS.txt     bulk extraction, with a live progress bar
    flask batch status BATCH_ID [--wait]           a batch's progress
"""

from __future__ import annotations

import sys
import time
import uuid

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext

from api.current import settings as current_settings
from models import Job
from pipeline.contracts.importer import import_rows, read_jsonl
from pipeline.core import db
from pipeline.core.cache import get_cache
from pipeline.core.settings import Settings
from pipeline.jobs import lifecycle as jobs
from pipeline.ops import migrate
from pipeline.ops.worker_check import MAINTENANCE


def _settings() -> Settings:
    return current_settings()


@click.group("db", cls=AppGroup, help="Schema migrations.")
def db_group() -> None:
    pass


@db_group.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database up to REVISION (default: head)."""
    migrate.upgrade(_settings(), revision)
    click.echo(f"database at {revision}")


@db_group.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database down to REVISION (``base`` removes every table)."""
    migrate.downgrade(_settings(), revision)
    click.echo(f"database at {revision}")


@db_group.command("current")
def db_current() -> None:
    """Show the database's revision."""
    migrate.current(_settings())


@click.group("contracts", cls=AppGroup, help="Contract data.")
def contracts_group() -> None:
    pass


@contracts_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--chunk-size", default=500, show_default=True, help="rows per transaction")
@click.option("--show-rejected", default=50, show_default=True, help="rejected rows to list")
def contracts_import(path: str, chunk_size: int, show_rejected: int) -> None:
    """Load contracts from a JSON Lines file (- for standard input).

    One JSON object per line with account_number and customer_name, and optionally dealer,
    lender, vehicle, contract_start_date, term_months, state, document_text, pdf_path (relative
    to PDF_DIR, or s3://bucket/key), s3_bucket, s3_key. Existing contracts are updated only when
    something changed. Exit status: 0 all rows loaded, 1 some rows rejected, 2 unreadable file.
    """
    try:
        stream = click.open_file(path, encoding="utf-8")
    except OSError as exc:
        click.echo(f"cannot read {path}: {exc.strerror}", err=True)
        sys.exit(2)
    with stream:
        try:
            report = import_rows(
                factory=db.session_factory(_settings()),
                rows=read_jsonl(stream),
                chunk_size=chunk_size,
                origin=path,
                cache=get_cache(_settings()),
            )
        except UnicodeDecodeError:
            click.echo(f"cannot read {path}: not UTF-8 text", err=True)
            sys.exit(2)
    click.echo(
        f"{report.total} rows: {report.inserted} inserted, {report.updated} updated, "
        f"{report.unchanged} unchanged, {len(report.rejected)} rejected"
    )
    for rejection in report.rejected[:show_rejected]:
        who = f" (account {rejection.account_number})" if rejection.account_number else ""
        click.echo(f"  line {rejection.line}{who}: {rejection.reason}")
    if len(report.rejected) > show_rejected:
        click.echo(f"  ... and {len(report.rejected) - show_rejected} more")
    if report.rejected:
        sys.exit(1)


@click.command("seed")
@with_appcontext
def seed_command() -> None:
    """Create the demo contracts (with PDFs) and the admin user; running it again changes nothing."""
    from pipeline.seed.service import seed

    result = seed(settings=_settings(), factory=db.session_factory(_settings()))
    c = result.contracts
    click.echo(
        f"demo contracts: {c.inserted} inserted, {c.updated} updated, {c.unchanged} unchanged; "
        f"PDFs written: {result.pdfs_written}; admin user {'created' if result.admin_created else 'already present'}"
    )
    if result.dev_token:
        click.echo(f"development API token for {_settings().admin_email} (kept in {result.dev_token_file}):")
        click.echo(result.dev_token)


@click.command("worker-check")
@with_appcontext
@click.option("--queue", type=click.Choice(["interactive", "bulk"]), default="interactive", show_default=True)
@click.option("--timeout", default=30.0, show_default=True, help="seconds to wait for a worker")
def worker_check(queue: str, timeout: float) -> None:
    """Send a no-op job through the broker and wait until a worker has run it."""
    settings = _settings()
    with db.unit_of_work(settings) as session:
        job_id = jobs.create(session=session, kind=MAINTENANCE, queue=queue, request_id=uuid.uuid4().hex).id
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        with db.unit_of_work(settings) as session:
            job = session.get(Job, job_id)
            status, result = job.status, job.result
        if status in ("succeeded", "failed"):
            elapsed = time.monotonic() - started
            click.echo(f"job {job_id} {status} on queue {queue} in {elapsed:.2f}s: {result}")
            sys.exit(0 if status == "succeeded" else 1)
        time.sleep(0.1)
    click.echo(f"no worker ran job {job_id} on queue {queue} within {timeout:.0f}s", err=True)
    sys.exit(1)


def register_commands(app: Flask) -> None:
    from api.batch_cli import batch_group
    from api.identity_cli import tokens_group, users_group

    for command in (db_group, contracts_group, seed_command, worker_check, batch_group, tokens_group, users_group):
        app.cli.add_command(command)
