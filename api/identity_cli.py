"""Sign-in commands: ``flask --app api tokens ...`` and ``flask --app api users create``.

    flask tokens create --user EMAIL [--name NAME] [--expires-days N | --no-expiry]
    flask tokens list [--user EMAIL | --all] [--include-revoked]
    flask tokens revoke TOKEN_ID
    flask users create --email EMAIL --role ROLE [--username NAME] [--full-name NAME]

``tokens create`` prints the new token alone on the last line of standard output, once (scripts
read it with ``tail -n 1``); only its hash is stored. Exit status: 0 done, 2 bad input (unknown
user, bad value).
"""

from __future__ import annotations

import sys
import uuid

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from api.current import settings as current_settings
from models import User
from pipeline import users
from pipeline.core import db
from pipeline.core.errors import AppError
from pipeline.identity import tokens
from pipeline.identity.roles import ROLES


def _user_by_email(session, email: str) -> User:  # Session
    user = session.scalars(select(User).where(func.lower(User.email) == email.strip().lower(), User.deleted_at.is_(None))).first()
    if user is None:
        click.echo(f"no user has the e-mail {email}; create one first (flask --app api users create)", err=True)
        sys.exit(2)
    return user


@click.group("tokens", cls=AppGroup, help="API tokens for service accounts, scripts and the CLI.")
def tokens_group() -> None:
    pass


@tokens_group.command("create")
@click.option("--user", "email", required=True, help="e-mail of the user the token signs in as")
@click.option("--name", default=None, help="what the token is for (shown in lists)")
@click.option("--expires-days", type=click.IntRange(1, tokens.MAX_EXPIRES_DAYS), default=None,
              help="days until it expires (default: API_TOKEN_EXPIRES_DAYS)")
@click.option("--no-expiry", is_flag=True, help="a token that never expires (revoke it when done)")
def tokens_create(email: str, name: str | None, expires_days: int | None, no_expiry: bool) -> None:
    """Create an API token; it is printed once, alone on the last line."""
    settings = current_settings()
    if no_expiry and expires_days is not None:
        click.echo("give --expires-days or --no-expiry, not both", err=True)
        sys.exit(2)
    days = None if no_expiry else (expires_days or settings.api_token_expires_days or None)
    try:
        with db.unit_of_work(settings) as session:
            user = _user_by_email(session, email)
            new = tokens.create(session=session, user=user, name=name, expires_days=days)
            row = tokens.as_dict(new.row)
    except AppError as exc:
        click.echo(exc.message, err=True)
        sys.exit(2)
    expiry = f"expires {row['expires_at']}" if row["expires_at"] else "never expires"
    click.echo(f"token {row['token_id']} ({row['name']}) for {email}, role {user.role}, {expiry}.")
    click.echo("Keep it now: it is not shown again. Use it as 'Authorization: Bearer <token>'.")
    click.echo(new.token)


@tokens_group.command("list")
@click.option("--user", "email", default=None, help="only this user's tokens")
@click.option("--all", "all_users", is_flag=True, help="every user's tokens")
@click.option("--include-revoked", is_flag=True)
def tokens_list(email: str | None, all_users: bool, include_revoked: bool) -> None:
    """List tokens: id, user, name, prefix, expiry, last use (never the tokens themselves)."""
    if not email and not all_users:
        click.echo("give --user EMAIL or --all", err=True)
        sys.exit(2)
    with db.unit_of_work(current_settings()) as session:
        user_id = None if all_users else _user_by_email(session, email).id
        emails = dict(session.execute(select(User.id, User.email)).all())
        rows = [tokens.as_dict(t) for t in tokens.list_for(session=session, user_id=user_id, include_revoked=include_revoked)]
    if not rows:
        click.echo("no tokens")
    for row in rows:
        state = "active" if row["active"] else ("revoked" if row["revoked_at"] else "expired")
        click.echo(
            f"{row['token_id']}  {emails.get(uuid.UUID(row['user_id']), row['user_id'])}  {row['prefix']}...  {state}  "
            f"name={row['name']!r}  expires={row['expires_at'] or 'never'}  last_used={row['last_used_at'] or 'never'}"
        )


@tokens_group.command("revoke")
@click.argument("token_id")
def tokens_revoke(token_id: str) -> None:
    """Revoke a token at once (every process refuses it from the next request)."""
    try:
        key = uuid.UUID(token_id)
    except ValueError:
        click.echo(f"{token_id!r} is not a token id (a UUID; see flask tokens list)", err=True)
        sys.exit(2)
    try:
        with db.unit_of_work(current_settings()) as session:
            tokens.revoke(session=session, token=tokens.get_or_raise(session=session, token_id=key))
    except AppError as exc:
        click.echo(exc.message, err=True)
        sys.exit(2)
    click.echo(f"token {token_id} revoked")


@click.group("users", cls=AppGroup, help="Users (the API's /admin/users does the same for admins).")
def users_group() -> None:
    pass


@users_group.command("create")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--username", default=None, help="default: the part of the e-mail before @")
@click.option("--full-name", default=None)
def users_create(email: str, role: str, username: str | None, full_name: str | None) -> None:
    """Create a user, e.g. a deployment's first admin."""
    email = email.strip().lower()
    try:
        with db.unit_of_work(current_settings()) as session:
            user = users.create(session=session, email=email, username=username or email.split("@", 1)[0], full_name=full_name, role=role)
            user_id = user.id
    except AppError as exc:
        click.echo(exc.message, err=True)
        sys.exit(2)
    click.echo(f"user {user_id} {email} created with role {role}")
