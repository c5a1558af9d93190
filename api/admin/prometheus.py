"""The admin metrics for Prometheus: ``GET /metrics`` in the text exposition format 0.0.4.

The figures are those of ``GET /api/v1/admin/metrics`` (:func:`pipeline.ops.metrics.collect`),
computed when scraped; nothing is kept in the process, so every web process answers the same.
Daily and weekly counts are labelled by how many days or weeks ago (``0`` is today, or the seven
days ending today), which keeps the label set fixed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from api import db as api_db
from api.auth import roles
from api.current import settings
from pipeline.core.cache import get_cache
from pipeline.identity.roles import METRICS_READERS
from pipeline.ops import metrics

blp = Blueprint("prometheus", __name__, description="Metrics for Prometheus.")


def _gauge(name: str, documentation: str, labels: tuple[str, ...], samples: list[tuple[tuple[str, ...], Any]]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=list(labels))
    for values, value in samples:
        if value is not None:
            family.add_metric(list(values), float(value))
    return family


def families(figures: dict[str, Any]) -> Iterator[Metric]:
    """The metric families for one set of figures (a dict from :func:`pipeline.ops.metrics.collect`)."""
    yield _gauge("cre_contracts", "Contracts in the database.", (), [((), figures["contracts"]["total"])])
    yield _gauge("cre_extractions", "Extractions by status.", ("status",), [((s,), n) for s, n in figures["extractions"]["by_status"].items()])

    timing = figures["extraction_time"]
    yield _gauge("cre_extraction_jobs_measured", f"Succeeded extraction jobs of the last {timing['window_days']} days measured for the run time.", (), [((), timing["count"])])
    yield _gauge(
        "cre_extraction_duration_seconds",
        f"Run time of succeeded extraction jobs (claim to result) over the last {timing['window_days']} days.",
        ("stat",),
        [(("avg",), _seconds(timing["avg_ms"])), (("p95",), _seconds(timing["p95_ms"]))],
    )
    yield _gauge("cre_provider_latency_avg_seconds", "Average provider latency of the extractions made in the same window.", (), [((), _seconds(timing["provider_avg_ms"]))])

    lookups = CounterMetricFamily("cre_cache_lookups", "Cache lookups by kind and result, since Redis last lost its counters.", labels=["kind", "result"])
    for kind, counts in figures["cache"]["kinds"].items():
        lookups.add_metric([kind, "hit"], counts["hit"])
        lookups.add_metric([kind, "miss"], counts["miss"])
    yield lookups
    yield _gauge(
        "cre_cache_hit_ratio",
        "Cache hits per lookup, by kind (all: every kind).",
        ("kind",),
        [(("all",), figures["cache"]["hit_rate"])] + [((kind, ), c["hit_rate"]) for kind, c in figures["cache"]["kinds"].items()],
    )

    corrections = figures["corrections"]
    yield _gauge("cre_extractions_approved", "Approved extractions (the base of the correction rates).", (), [((), corrections["approved_extractions"])])
    fields = corrections["fields"].items()
    yield _gauge("cre_corrections", "Reviewer corrections, by field.", ("field",), [((f,), c["corrections"]) for f, c in fields])
    yield _gauge("cre_corrected_extractions", "Approved extractions a reviewer corrected, by field.", ("field",), [((f,), c["corrected_extractions"]) for f, c in fields])
    yield _gauge("cre_field_accuracy_ratio", "1 - corrected / approved, by field: the extractor's accuracy as reviewers see it.", ("field",), [((f,), c["accuracy"]) for f, c in fields])

    yield _gauge(
        "cre_jobs",
        "Jobs by kind and status.",
        ("kind", "status"),
        [((kind, status), n) for kind, statuses in figures["jobs"]["by_kind"].items() for status, n in statuses.items()],
    )
    yield _gauge("cre_queue_depth", "Messages waiting in a Celery queue (absent when the broker cannot say).", ("queue",), [((q,), n) for q, n in figures["queues"]["depth"].items()])

    days = list(reversed(figures["daily"]))
    weeks = list(reversed(figures["weekly"]))
    for what in ("created", "approved"):
        key = f"extractions_{what}"
        yield _gauge(f"cre_extractions_{what}_daily", f"Extractions {what} on a UTC day, by days ago (0: today).", ("days_ago",), [((str(n),), d[key]) for n, d in enumerate(days)])
        yield _gauge(f"cre_extractions_{what}_weekly", f"Extractions {what} in a seven-day period, by weeks ago (0: the seven days ending today).", ("weeks_ago",), [((str(n),), w[key]) for n, w in enumerate(weeks)])


def _seconds(ms: float | None) -> float | None:
    return None if ms is None else ms / 1000.0


class _Figures:
    """A one-shot collector: prometheus_client renders whatever ``collect`` yields."""

    def __init__(self, figures: dict[str, Any]) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        return families(self.figures)


def exposition(figures: dict[str, Any]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Figures(figures))
    return generate_latest(registry)


@blp.route("/metrics")
class PrometheusMetrics(MethodView):
    @roles(*METRICS_READERS, metrics_allow_list=True)
    @blp.response(200, {"type": "string"}, description="The metrics in Prometheus' text format 0.0.4.", content_type="text/plain")
    def get(self):
        """Metrics for Prometheus

        The figures of `GET /api/v1/admin/metrics` in the text exposition format, names prefixed
        `cre_`. Computed on each scrape: scrape every 15 s or slower.
        """
        s = settings()
        figures = metrics.collect(session=api_db.session(), cache=get_cache(s), settings=s)
        return Response(exposition(figures), mimetype=None, content_type=CONTENT_TYPE_PLAIN_0_0_4)
