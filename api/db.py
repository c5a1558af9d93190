"""One unit of work per request.

Views (through pipeline functions) use :func:`session`; nothing in a request commits on its own.
After the view returns, the request's session is committed once if the response is a success and
rolled back otherwise, so a failing request never leaves a half-written row. Callbacks registered
with ``after_commit`` (sending a job to the broker) run right after that commit, before the
client gets its answer.
"""

from __future__ import annotations

from flask import Flask, Response, g
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


def init_app(app: Flask) -> None:
    @app.after_request
    def _finish_unit_of_work(response: Response) -> Response:
        current = g.pop("db_session", None)
        if current is not None:
            try:
                if response.status_code < 400 or g.pop("db_keep_on_error", False):
                    current.commit()
                else:
                    current.rollback()
            finally:
                current.close()
        return response

    @app.teardown_request
    def _close(_exc: BaseException | None) -> None:
        # Reached with a session still open only when the request failed before after_request.
        current = g.pop("db_session", None)
        if current is not None:
            current.rollback()
            current.close()
