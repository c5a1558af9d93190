"""Flower sees tasks from Celery's events: producers send task-sent, workers the rest.

The producer's side is proven on the wire: a task sent the way the API sends jobs publishes a
``task-sent`` event on the broker's event exchange, which is what Flower listens to.
"""

from __future__ import annotations

import base64
import json
import uuid

from tests.support.waiting import wait_for
from workers.celery_app import CeleryDispatcher, create_celery


def _events(pubsub) -> list[dict]:
    """Event bodies published on the broker's event exchange since the last call."""
    found = []
    while (message := pubsub.get_message(timeout=0.1)) is not None:
        if message["type"] != "pmessage":
            continue
        envelope = json.loads(message["data"])
        body = envelope["body"]
        if envelope.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        decoded = json.loads(body)
        # Workers may publish events grouped in a list (Celery's event groups).
        found.extend(decoded if isinstance(decoded, list) else [decoded])
    return found


def test_the_producer_publishes_a_task_sent_event(settings, redis_client):
    pubsub = redis_client.pubsub()
    pubsub.psubscribe("*celeryev*")  # kombu publishes fanout exchanges on Redis pub/sub channels
    assert wait_for(lambda: pubsub.get_message(timeout=0.1), what="the subscription")["type"] == "psubscribe"

    app = create_celery(settings)
    # A job id with no row: a worker that happens to receive it finds nothing to do.
    job_id = str(uuid.uuid4())
    CeleryDispatcher(app).send(task_name="maintenance.run", job_id=job_id, queue="bulk", request_id="events-test")
    seen: list[dict] = []

    def sent_event():
        seen.extend(_events(pubsub))
        return next((e for e in seen if e.get("type") == "task-sent" and job_id in str(e.get("args"))), None)

    event = wait_for(sent_event, timeout=10, what="a task-sent event for the job")
    assert event["name"] == "maintenance.run"
    assert event["queue"] == "bulk"
    pubsub.close()
    app.close()


def test_task_events_follow_the_setting(settings):
    on = create_celery(settings.replace(celery_task_events=True)).conf
    assert on.worker_send_task_events is True and on.task_send_sent_event is True
    off = create_celery(settings.replace(celery_task_events=False)).conf
    assert off.worker_send_task_events is False and off.task_send_sent_event is False
    # The file-system broker has no fan-out exchange to carry events.
    embedded = create_celery(settings.replace(celery_task_events=True, celery_broker_url="filesystem://")).conf
    assert embedded.worker_send_task_events is False and embedded.task_send_sent_event is False
