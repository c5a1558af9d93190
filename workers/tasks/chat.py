"""Chat tasks: one job id in, the chat pipeline answers the message."""

from celery import shared_task

import pipeline.chat.service  # noqa: F401 - registers the chat job handler
from workers.tasks.common import execute_job


@shared_task(name="chat.run", ignore_result=True)
def run_chat(job_id: str) -> None:
    # No Celery retries: the provider chain owns the retry budget (see pipeline.providers.registry).
    execute_job(job_id)
