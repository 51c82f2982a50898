"""`GET /metrics` on the service's HTTP app (no token: Prometheus scrapes it on
loopback; it carries counts and ratios, never a caller number)."""

from __future__ import annotations

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST

from metrics.exporter import Exporter


def add_metrics_route(app: FastAPI, exporter: Exporter) -> None:
    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(await exporter.render(), media_type=CONTENT_TYPE_LATEST)
