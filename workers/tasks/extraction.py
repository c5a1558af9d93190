"""Extraction tasks: one job id in, the extraction pipeline runs it."""

from celery import shared_task

import pipeline.extraction.service  # noqa: F401 - registers the extraction job handler
from workers.tasks.common import execute_job


@shared_task(name="extraction.run", ignore_result=True)
def run_extraction(job_id: str) -> None:
    # No Celery retries: the provider chain owns the retry budget (see pipeline.providers.registry).
    execute_job(job_id)
