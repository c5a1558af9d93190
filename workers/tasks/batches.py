"""Batch tasks: write a large batch's extraction jobs in the background."""

from celery import shared_task

from pipeline.batches.service import BATCH
from workers.tasks.common import execute


@shared_task(name=BATCH.task, ignore_result=True)
def expand_batch(job_id: str) -> None:
    # The batch's jobs are sent from here: the worker_init hook installed the dispatcher.
    execute(BATCH, job_id)
