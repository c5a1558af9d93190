"""The Celery app, configured from ``celeryconfig`` (policy) and the settings (where things are).

Nothing reads the environment at import time: the app is configured when Celery first needs its
configuration (``on_configure``), from :func:`pipeline.core.settings.get_settings`.
"""

from __future__ import annotations

import logging

from celery import Celery
from celery.signals import after_setup_logger, task_postrun, task_prerun, worker_init, worker_process_init

from models.session import dispose_engines
from pipeline.core.logs import configure_logging, request_id_var
from pipeline.core.settings import Settings, get_settings
from pipeline.jobs import dispatch

logger = logging.getLogger(__name__)

TASK_MODULES = ("workers.tasks.maintenance", "workers.tasks.extraction", "workers.tasks.chat", "workers.tasks.batches", "workers.tasks.refunds")


def _broker_options(settings: Settings) -> dict:
    if settings.broker_is_filesystem:
        folder = settings.broker_dir
        for sub in ("out", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(folder / "out"),
            "data_folder_out": str(folder / "out"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
        }
    # Redis redelivers an unacknowledged task after this long; it must exceed the longest task,
    # or a second worker would start a task the first is still running.
    return {"visibility_timeout": settings.celery_visibility_timeout}


def configure(app: Celery, settings: Settings) -> None:
    app.config_from_object("celeryconfig")
    app.conf.update(
        broker_url=settings.celery_broker_url,
        broker_transport_options=_broker_options(settings),
        task_time_limit=settings.celery_task_time_limit,
        task_soft_time_limit=max(settings.celery_task_time_limit - 30, settings.celery_task_time_limit // 2),
        worker_concurrency=settings.worker_concurrency,
        worker_send_task_events=settings.celery_task_events,
        task_send_sent_event=settings.celery_task_events,
        # The reconciler (pipeline/maintenance/reconciler.py); a pass not started within one interval expires
        # rather than piling up behind a backlog.
        beat_schedule={
            "reconcile-jobs": {
                "task": "maintenance.reconcile",
                "schedule": float(settings.reconcile_interval_seconds),
                "options": {"queue": "interactive", "expires": float(settings.reconcile_interval_seconds)},
            }
        },
    )
    if settings.broker_is_filesystem:
        # The file-system broker has no fan-out exchange: no remote control, gossip or mingle.
        app.conf.update(worker_enable_remote_control=False, worker_send_task_events=False, task_send_sent_event=False)


def create_celery(settings: Settings | None = None) -> Celery:
    app = Celery("cre", include=list(TASK_MODULES), set_as_current=False)
    if settings is not None:
        configure(app, settings)
    else:

        @app.on_configure.connect(weak=False)
        def _configure(sender: Celery, **_kwargs) -> None:
            configure(sender, get_settings())

    return app


_apps: dict[Settings, Celery] = {}


def get_celery(settings: Settings) -> Celery:
    """A configured app per settings (the web process's producer), created once."""
    if settings not in _apps:
        _apps[settings] = create_celery(settings)
    return _apps[settings]


class CeleryDispatcher:
    """Sends a job's id (and the request id, for the logs) to its queue by task name."""

    def __init__(self, app: Celery) -> None:
        self.app = app

    def send(self, *, task_name: str, job_id: str, queue: str, request_id: str | None) -> None:
        self.app.send_task(task_name, args=[job_id], queue=queue, headers={"request_id": request_id})


def ensure_dispatcher(app: Celery) -> None:
    """Let jobs running in this worker send jobs of their own (batch writing, the reconciler)."""
    if isinstance(dispatch.current(), dispatch.NoDispatcher):
        dispatch.install(CeleryDispatcher(app))


@worker_init.connect
def _install_dispatcher(sender=None, **_kwargs) -> None:  # the WorkController
    if sender is not None:
        ensure_dispatcher(sender.app)


@worker_process_init.connect
def _after_fork(**_kwargs) -> None:
    # A pool shared across fork corrupts connections (SSL "bad record mac" and worse).
    dispose_engines()


@after_setup_logger.connect
def _json_logs(**_kwargs) -> None:
    settings = get_settings()
    configure_logging(settings.log_level, settings.secrets())


@task_prerun.connect
def _bind_request_id(task=None, **_kwargs) -> None:
    # The producer sends the request id as a message header; Celery exposes headers as
    # attributes of the task's request. A task without one logs under its own task id.
    request = task.request if task is not None else None
    request_id = getattr(request, "request_id", None) or getattr(request, "id", None)
    request_id_var.set(request_id)


@task_postrun.connect
def _unbind_request_id(**_kwargs) -> None:
    request_id_var.set(None)
