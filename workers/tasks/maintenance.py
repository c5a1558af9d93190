"""Maintenance tasks: a no-op job that proves a worker consumes a queue end to end, and the
reconciler that beat runs every RECONCILE_INTERVAL_SECONDS."""

from celery import shared_task

from pipeline.core.settings import get_settings
from pipeline.maintenance import reconciler
from pipeline.ops.worker_check import MAINTENANCE
from workers.tasks.common import execute


@shared_task(name=MAINTENANCE.task, ignore_result=True)
def run_maintenance(job_id: str) -> None:
    execute(MAINTENANCE, job_id)


@shared_task(name="maintenance.reconcile", ignore_result=True)
def reconcile() -> dict:
    # The reconciler sends jobs again: the worker_init hook installed the dispatcher.
    return reconciler.reconcile(settings=get_settings())
