"""Jobs: poll a background job, or follow it as server-sent events."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from flask import Response, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint

from api import auth
from api import db as api_db
from api.auth import roles
from api.common import parse_id
from api.current import settings
from api.jobs.schemas import EXAMPLE_JOB, JobSchema
from models import Job
from pipeline.core import db
from pipeline.core.cache import RedisCache, get_cache
from pipeline.core.errors import NotFound
from pipeline.core.settings import Settings
from pipeline.identity.roles import AGENT, JOB_READERS
from pipeline.jobs import lifecycle as jobs
from pipeline.jobs import status as job_status

blp = Blueprint("jobs", __name__, description="Background jobs (extraction, chat): poll or subscribe.")

HEARTBEAT_SECONDS = 15
STREAM_MAX_SECONDS = 600
POLL_SECONDS = 0.5


def _state_from_database(settings: Settings, job_id: uuid.UUID) -> dict[str, Any] | None:
    with db.session_factory(settings)() as session:
        job = session.get(Job, job_id)
        return job_status.as_dict(job) if job else None


def current_state(settings: Settings, job_id: uuid.UUID) -> dict[str, Any] | None:
    """Redis first (fast, written by the worker), PostgreSQL when the mirror is missing."""
    return job_status.read(get_cache(settings), job_id) or _state_from_database(settings, job_id)


def _visible(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """The job if the caller may see it: operators and admins any job; an agent the jobs they
    asked for and any extraction job (the contract's data is theirs to read anyway). Another
    agent's chat is not: it answers as if the job did not exist."""
    identity = auth.current()
    if state is None or identity is None or identity.role != AGENT:
        return state
    if state.get("kind") == "extraction" or state.get("requested_by") == str(identity.user_id):
        return state
    return None


@blp.route("/<job_id>")
class JobById(MethodView):
    @roles(*JOB_READERS)
    @blp.response(200, JobSchema, example=EXAMPLE_JOB)
    @blp.alt_response(404, description="No job has this id.")
    @blp.alt_response(422, description="The id is not a UUID.")
    def get(self, job_id):
        """Poll a job

        Answered from Redis, where workers mirror every state change, falling back to
        PostgreSQL. Poll until `status` is `succeeded` or `failed`; `result` then holds the
        outcome (for an extraction, its `extraction_id`), `error` the reason for a failure.
        """
        key = parse_id(job_id, "job_id")
        state = current_state(settings(), key)
        if state is None:
            jobs.get_or_raise(session=api_db.session(), job_id=key)  # raises the 404
        if _visible(state) is None:
            raise NotFound(f"job {key} does not exist")
        return state


def _event(state: dict[str, Any]) -> str:
    return f"event: status\ndata: {json.dumps(state)}\n\n"


def _follow(settings: Settings, job_id: uuid.UUID) -> Iterator[str]:
    cache = get_cache(settings)
    pubsub = None
    if isinstance(cache, RedisCache):
        pubsub = cache.client.pubsub(ignore_subscribe_messages=True)
        # Subscribe before reading the state, so no change can slip between the two.
        pubsub.subscribe(job_status.channel(job_id))
    try:
        state = current_state(settings, job_id)
        yield _event(state)
        deadline = time.monotonic() + STREAM_MAX_SECONDS
        last_beat = time.monotonic()
        while state["status"] not in job_status.TERMINAL and time.monotonic() < deadline:
            if pubsub is not None:
                message = pubsub.get_message(timeout=1.0)
                fresh = json.loads(message["data"]) if message and message.get("type") == "message" else None
            else:
                time.sleep(POLL_SECONDS)
                fresh = _state_from_database(settings, job_id)
                fresh = fresh if fresh and fresh != state else None
            if fresh is not None:
                state = fresh
                yield _event(state)
                last_beat = time.monotonic()
            elif time.monotonic() - last_beat >= HEARTBEAT_SECONDS:
                yield ": keep-alive\n\n"
                last_beat = time.monotonic()
    finally:
        if pubsub is not None:
            pubsub.close()


@blp.route("/<job_id>/events")
class JobEvents(MethodView):
    @roles(*JOB_READERS)
    @blp.response(200, {"type": "string"}, description="`text/event-stream`: an `event: status` with the job (as in `GET /jobs/{id}`) now and at every change, until it succeeds or fails; comments keep the connection alive.", content_type="text/event-stream")
    @blp.alt_response(404, description="No job has this id.")
    @blp.alt_response(422, description="The id is not a UUID.")
    def get(self, job_id):
        """Follow a job as server-sent events

        The stream ends after the event that reports `succeeded` or `failed` (or after ten
        minutes; reconnecting resumes with the current state).
        """
        key = parse_id(job_id, "job_id")
        s = settings()
        state = current_state(s, key)
        if state is None:
            jobs.get_or_raise(session=api_db.session(), job_id=key)
        if _visible(state) is None:
            raise NotFound(f"job {key} does not exist")
        response = Response(stream_with_context(_follow(s, key)), mimetype="text/event-stream")
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Accel-Buffering"] = "no"  # let proxies pass events through at once
        return response
