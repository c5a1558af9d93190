"""Batch tasks: write a large batch's extraction jobs in the background."""

from celery import shared_task

import pipeline.batches.service  # noqa: F401 - registers the batch job handler
from workers.tasks.common import execute_job


@shared_task(name="batch.expand", ignore_result=True, bind=True)
def expand_batch(self, job_id: str) -> None:  # noqa: ANN001 - the bound task
    from workers.celery_app import ensure_dispatcher

    ensure_dispatcher(self.app)  # the batch's jobs are sent from here
    execute_job(job_id)
