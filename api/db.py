"""One unit of work per request.

Views (through pipeline functions) use :func:`session`; nothing in a request commits on its own.
After the view returns, the request's session is committed once if the response is a success and
rolled back otherwise, so a failing request never leaves a half-written row. Callbacks registered
with ``after_commit`` (sending a job to the broker) run right after that commit, before the
client gets its answer.
"""

from __future__ import annotations

from flask import Flask, Response, g
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from api.current import settings
from pipeline.core import db


def session() -> Session:
    """The current request's session, opened on first use."""
    if "db_session" not in g:
        g.db_session = db.session_factory(settings())()
    return g.db_session


def keep_on_error() -> None:
    """Commit this request's writes even if it answers with an error.

    For writes that record the failure itself, such as the audit event of a search that found
    nothing; a view calls it only when nothing else has been written.
    """
    g.db_keep_on_error = True


def database_unavailable(exc: DBAPIError) -> bool:
    """A lost or refused connection (worth a retry), not a statement the database rejected."""
    return exc.connection_invalidated or isinstance(exc, (OperationalError, InterfaceError))


def _quietly(action) -> None:
    try:
        action()
    except DBAPIError:
        pass


def init_app(app: Flask) -> None:
    @app.after_request
    def _finish_unit_of_work(response: Response) -> Response:
        """Commit or roll back; a database that fails here (a restart, a dropped connection)
        turns the answer into the same 503 a failing view gets, never a 500."""
        current = g.pop("db_session", None)
        failure = g.pop("db_failure", None)
        if current is not None:
            try:
                if failure is None and (response.status_code < 400 or g.pop("db_keep_on_error", False)):
                    current.commit()
                else:
                    current.rollback()
            except DBAPIError as exc:
                if not database_unavailable(exc):
                    raise
                failure = exc
                _quietly(current.rollback)
            finally:
                _quietly(current.close)
        if failure is not None:
            from api.errors import handle_database_unavailable

            return handle_database_unavailable(failure)
        return response

    @app.teardown_request
    def _close(_exc: BaseException | None) -> None:
        # Reached with a session still open only when the request failed before after_request.
        current = g.pop("db_session", None)
        if current is not None:
            current.rollback()
            current.close()
