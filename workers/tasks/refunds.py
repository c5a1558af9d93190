"""Refund-quote tasks: one job id in, the portfolio quote pipeline makes the quote."""

from celery import shared_task

import pipeline.refunds.portfolio  # noqa: F401 - registers the refund_quote job handler
from workers.tasks.common import execute_job


@shared_task(name="refund_quote.run", ignore_result=True)
def run_refund_quote(job_id: str) -> None:
    # No Celery retries: a quote needs no provider; a job that cannot be quoted fails with the reason.
    execute_job(job_id)
