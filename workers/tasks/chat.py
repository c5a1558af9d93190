"""Chat tasks: one job id in, the chat job answers the message."""

from celery import shared_task

from pipeline.chat.job import CHAT
from workers.tasks.common import execute


@shared_task(name=CHAT.task, ignore_result=True)
def run_chat(job_id: str) -> None:
    # No Celery retries: the provider chain owns the retry budget (see pipeline.providers.registry).
    execute(CHAT, job_id)
