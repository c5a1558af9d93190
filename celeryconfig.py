"""Celery policy for every worker and producer: queues, acknowledgement, prefetch, events.

Where things are (broker URL, time limits, concurrency) comes from the settings; see
``workers/celery_app.py``. This file holds only what does not vary between deployments.
"""

from kombu import Exchange, Queue

# Two queues so interactive work (one agent waiting) never sits behind a bulk batch.
task_queues = (
    Queue("interactive", Exchange("interactive", type="direct"), routing_key="interactive"),
    Queue("bulk", Exchange("bulk", type="direct"), routing_key="bulk"),
)
task_default_queue = "interactive"
task_default_exchange = "interactive"
task_default_routing_key = "interactive"
task_create_missing_queues = False

# JSON only: tasks carry ids, never pickled objects.
task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
event_serializer = "json"

# A task is acknowledged after it finishes, and requeued if its worker dies mid-task, so a killed
# worker loses nothing. Tasks are idempotent (jobs are claimed with a conditional update).
task_acks_late = True
task_reject_on_worker_lost = True

# Long, I/O-bound tasks: take one message per thread at a time, so a busy worker does not hoard
# messages another worker could run.
worker_prefetch_multiplier = 1
worker_pool = "threads"

# Results live in PostgreSQL (jobs table) and Redis (status mirror); Celery keeps none.
task_ignore_result = True
result_backend = None

# Events for Flower, from workers and producers.
worker_send_task_events = True
task_send_sent_event = True

broker_connection_retry_on_startup = True
worker_hijack_root_logger = False
worker_redirect_stdouts = False
enable_utc = True
timezone = "UTC"
