"""Maintenance tasks: a no-op job that proves a worker consumes a queue end to end."""

from celery import shared_task

from workers.tasks.common import execute_job


@shared_task(name="maintenance.run", ignore_result=True)
def run_maintenance(job_id: str) -> None:
    execute_job(job_id)
