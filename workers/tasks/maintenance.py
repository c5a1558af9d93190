"""Maintenance tasks: a no-op job that proves a worker consumes a queue end to end, and the
reconciler that beat runs every RECONCILE_INTERVAL_SECONDS."""

from celery import shared_task

from pipeline.core.settings import get_settings
from pipeline.maintenance import reconciler
from workers.tasks.common import execute_job


@shared_task(name="maintenance.run", ignore_result=True)
def run_maintenance(job_id: str) -> None:
    execute_job(job_id)


@shared_task(name="maintenance.reconcile", ignore_result=True, bind=True)
def reconcile(self) -> dict:  # noqa: ANN001 - the bound task
    from workers.celery_app import ensure_dispatcher

    ensure_dispatcher(self.app)  # the reconciler sends jobs again
    return reconciler.reconcile(settings=get_settings())
