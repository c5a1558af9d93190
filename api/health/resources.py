"""Liveness and readiness probes."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api import auth
from api.auth import public
from api.current import settings
from api.health.schemas import HealthSchema, ReadySchema
from api.version import __version__
from pipeline.core.errors import Unavailable
from pipeline.identity.roles import OPERATORS
from pipeline.ops import health

blp = Blueprint("health", __name__, description="Liveness and readiness probes for load balancers and orchestrators.")


@blp.route("/health")
class Health(MethodView):
    @public
    @blp.response(200, HealthSchema, example={"status": "ok", "version": "0.1.0", "environment": "development"})
    def get(self):
        """Liveness: the web process is up

        Answers without touching any dependency, so a slow database never gets a healthy
        process restarted.
        """
        return {"status": "ok", "version": __version__, "environment": settings().app_env}


@blp.route("/ready")
class Ready(MethodView):
    @public
    @blp.response(200, ReadySchema, example={"status": "ready", "checks": {"database": {"ok": True, "detail": "postgresql", "latency_ms": 1.1}, "cache": {"ok": True, "detail": "redis://127.0.0.1:6379/0", "latency_ms": 0.4}, "broker": {"ok": True, "detail": "redis://127.0.0.1:6379/0", "latency_ms": 2.0}}})
    @blp.alt_response(503, description="A dependency is down; `details.checks` says which and why.")
    def get(self):
        """Readiness: database, cache and broker all answer

        503 names each dependency that is down, so traffic is kept away until it is back. The
        status is for anyone (load balancers); the checks' details (addresses, latencies) only
        for a signed-in operator or admin.
        """
        ok, checks = health.readiness(settings())
        identity = auth.current()
        if identity is None or not identity.has(*OPERATORS):
            checks = {name: {"ok": check["ok"]} for name, check in checks.items()}
        if not ok:
            down = ", ".join(name for name, check in checks.items() if not check["ok"])
            raise Unavailable(f"not ready: {down} down", details={"checks": checks})
        return {"status": "ready", "checks": checks}
