"""Liveness and metrics, without authentication: /healthz and /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from hub.api.deps import StoreDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(request: Request, store: StoreDep) -> JSONResponse:
    """200 while the database answers (with the MQTT connection flag), else 503."""
    db_ok = store.ping()
    mqtt_connected = bool(request.app.state.mqtt_connected())
    body = {"status": "ok" if db_ok else "error", "db": db_ok, "mqtt_connected": mqtt_connected}
    return JSONResponse(body, status_code=200 if db_ok else 503)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
