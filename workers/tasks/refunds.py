"""Refund-quote tasks: one job id in, the refund-quote job runs it."""

from celery import shared_task

from pipeline.batches.quotes import REFUND_QUOTE
from workers.tasks.common import execute


@shared_task(name=REFUND_QUOTE.task, ignore_result=True)
def run_refund_quote(job_id: str) -> None:
    # No Celery retries: a quote needs no provider; a job that cannot be quoted fails with the reason.
    execute(REFUND_QUOTE, job_id)
