"""Readiness and metrics of the HTTP API, for an orchestrator and Prometheus.

`/ready` answers 200 only when everything production depends on answers (see `ops.health`),
else 503 naming each failure; `/health` (in `api`) is the liveness probe. `/metrics` exports
the project's shared state and Dagster instance (see `ops.exporters`).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ..config import LoadedConfig
from ..coordination import coordination_for
from ..ops.exporters import project_registry
from ..ops.health import readiness
from ..storage.store import CandleStore


def add_probes(app: FastAPI, config: LoadedConfig, store: CandleStore) -> None:
    from ..ops.instance import instance_reader  # Dagster: imported when the app is built

    backend = coordination_for(config)
    instance = instance_reader()
    registry = project_registry(config, instance)

    @app.get(
        "/ready",
        summary="Readiness: storage, coordination backend, Dagster daemon and streams (else 503)",
    )
    def ready() -> JSONResponse:
        checks = readiness(lambda: store.library().has_symbol("health"), backend, instance)
        failed = {name: failure for name, failure in checks.items() if failure}
        body = {
            "status": "not ready" if failed else "ready",
            "failed": failed,
            "checks": {name: failure or "ok" for name, failure in checks.items()},
        }
        return JSONResponse(body, status_code=503 if failed else 200)

    @app.get("/metrics", summary="Prometheus metrics (text exposition format)")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
