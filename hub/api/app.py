"""The FastAPI application of the hub, assembled from one router per concern."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request, Response
from fastapi_offline import FastAPIOffline
from starlette.middleware.base import RequestResponseEndpoint

import hub
from hub.api import (
    biometrics,
    bodies,
    cases,
    documents,
    events,
    fleet,
    health,
    pharmacy,
    problems,
    scans,
    signatures,
    stations,
    tokens,
)
from hub.api import vitals as vitals_api
from hub.bodies import BodyStore
from hub.health import WriteHealth
from hub.metrics import HubMetrics
from hub.settings import HubSettings
from hub.storage.base import Store
from puente_http.body_limit import BodyLimitMiddleware, BodyRule

DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; frame-ancestors 'none'"
)


def create_app(
    store: Store,
    metrics: HubMetrics,
    mqtt_connected: Callable[[], bool] = lambda: False,
    settings: HubSettings | None = None,
    write_health: WriteHealth | None = None,
) -> FastAPI:
    # Swagger UI and ReDoc from the fastapi-offline package's own files: no CDN (clinics and
    # hub machines have no internet, and the stock pages load their scripts from one).
    app = FastAPIOffline(
        title="Puente hub",
        version=hub.__version__,
        description="Cases, events and stations of Puente / casos, eventos y estaciones.",
    )
    app.state.store = store
    app.state.metrics = metrics
    app.state.mqtt_connected = mqtt_connected
    app.state.settings = settings or HubSettings()
    s = app.state.settings
    app.state.health = write_health or WriteHealth(
        store, s.mqtt_client_id, s.health_write_probe_s, s.health_write_timeout_s
    )
    app.state.bodies = BodyStore(
        app.state.settings.data_dir / "bodies", app.state.settings.max_body_bytes
    )
    problems.install(app)
    for module in (
        cases,
        biometrics,
        events,
        documents,
        stations,
        fleet,
        tokens,
        bodies,
        health,
        vitals_api,
        signatures,
        scans,
        pharmacy,
    ):
        app.include_router(module.router)

    @app.middleware("http")
    async def _docs_stay_local(request: Request, call_next: RequestResponseEndpoint) -> Response:
        # ReDoc's side menu links a logo on its vendor's CDN: the page may load nothing
        # from outside, so the browser does not even try (and never waits on it offline).
        response = await call_next(request)
        if request.url.path in ("/docs", "/redoc"):
            response.headers.setdefault("Content-Security-Policy", DOCS_CSP)
        return response

    from hub import web  # the ops console (server-rendered pages under /console)

    web.install(app, app.state.settings, store)
    limits = app.state.settings
    app.add_middleware(
        BodyLimitMiddleware,
        default_limit=limits.http_max_body_bytes,
        rules=[
            BodyRule(r"/v1/bodies/[^/]+", limits.http_max_upload_chunk_bytes),
            BodyRule(r"/v1/registry/import|/console/import", limits.http_max_import_bytes),
            BodyRule(r"/v1/pharmacy/catalogue", limits.http_max_import_bytes),
        ],
        problem=problems.body_too_large,
    )
    return app


def create_health_app(
    store: Store,
    metrics: HubMetrics,
    mqtt_connected: Callable[[], bool],
    write_health: WriteHealth,
) -> FastAPI:
    """An ingest worker's HTTP door: ``/healthz`` and ``/metrics`` only (the same routes and
    rules as role both: 503 while the database refuses writes or the last commit failed)."""
    app = FastAPI(
        title="Puente hub ingest worker",
        version=hub.__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.store = store
    app.state.metrics = metrics
    app.state.mqtt_connected = mqtt_connected
    app.state.health = write_health
    problems.install(app)
    app.include_router(health.router)
    return app
