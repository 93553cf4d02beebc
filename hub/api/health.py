"""Liveness and metrics, without authentication: /healthz and /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from hub.api.deps import StoreDep
from hub.api.problems import PROBLEM_JSON, problem_body

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(request: Request, store: StoreDep) -> JSONResponse:
    """200 while the database answers reads and takes writes (with the MQTT connection flag);
    else 503 with problem details naming each cause (a locked or read-only database, a failed
    ingest commit). The write probe runs at most every ``health_write_probe_s``."""
    db_ok = store.ping()
    mqtt_connected = bool(request.app.state.mqtt_connected())
    if db_ok:
        causes = request.app.state.health.problems()
    else:
        causes = ["database does not answer reads / la base de datos no responde a lecturas"]
    if not causes:
        return JSONResponse({"status": "ok", "db": True, "mqtt_connected": mqtt_connected})
    body = problem_body(
        503,
        "db_not_writable" if db_ok else "db_unavailable",
        "Hub database unavailable / Base de datos del hub no disponible",
        "; ".join(causes),
        status_text="error",
        db=db_ok,
        db_writable=False,
        mqtt_connected=mqtt_connected,
        causes=causes,
    )
    return JSONResponse(body, status_code=503, media_type=PROBLEM_JSON)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
