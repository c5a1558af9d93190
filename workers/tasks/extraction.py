"""Extraction tasks: one job id in, the extraction job runs it."""

from celery import shared_task

from pipeline.extraction.job import EXTRACTION
from workers.tasks.common import execute


@shared_task(name=EXTRACTION.task, ignore_result=True)
def run_extraction(job_id: str) -> None:
    # No Celery retries: the provider chain owns the retry budget (see pipeline.providers.registry).
    execute(EXTRACTION, job_id)
