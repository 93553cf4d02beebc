"""The local HTTP API (FastAPI): one router per concern behind the LocalOnly security gate."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

import edge_agent.api.fastapi_v1  # noqa: F401  # before any route is declared
from edge_agent import __version__
from edge_agent.api import identity, metrics, problems
from edge_agent.api.problems import problem
from edge_agent.api.routes import LazyRoutes, LoadRoutesMiddleware, RouterGroup
from edge_agent.api.security import LocalOnlyMiddleware
from edge_agent.capabilities.signing.limits import submission_limit
from edge_agent.capabilities.status import http as status_http
from edge_agent.capabilities.status import http_events
from edge_agent.container import Services
from edge_agent.ratelimit import RateLimiter
from puente_http.body_limit import BodyLimitMiddleware, BodyRule, too_large_detail

_CAP = "edge_agent.capabilities"

# Every router, in the order the OpenAPI document lists them. The status routes (what a
# client polls first), identity, events and /metrics are included at start; each
# capability's routes are imported and included by the first request under one of its path
# prefixes, or by the first /openapi.json, which lists them all (edge_agent/api/routes.py).
ROUTERS: tuple[RouterGroup, ...] = (
    RouterGroup("status", (), (status_http.router,)),
    RouterGroup("identity", (), (identity.router,)),
    RouterGroup("events", (), (http_events.router,)),
    RouterGroup("fingerprint", ("/v1/fingerprint/",), (f"{_CAP}.fingerprint.http",)),
    RouterGroup(
        "vitals",
        ("/v1/vitals/",),
        (f"{_CAP}.vitals.http", f"{_CAP}.vitals.http_stream", f"{_CAP}.vitals.http_inbox"),
    ),
    RouterGroup("metrics", (), (metrics.router,)),
    RouterGroup("scanning", ("/v1/scanners", "/v1/scans"), (f"{_CAP}.scanning.http",)),
    RouterGroup("signing", ("/v1/signing/",), (f"{_CAP}.signing.http",)),
    RouterGroup("pharmacy", ("/v1/pharmacy/",), (f"{_CAP}.pharmacy.http",)),
    RouterGroup("pairing", ("/v1/pairing", "/v1/audit", "/ui/"), (f"{_CAP}.pairing.http",)),
    RouterGroup("activity", ("/v1/activity",), (f"{_CAP}.activity.http",)),
)

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


def body_too_large(limit: int, size: int | None, path: str) -> dict[str, Any]:
    return problem(
        413,
        "body_too_large",
        "Request body too large / Cuerpo de la solicitud demasiado grande",
        too_large_detail(limit, size, path),
        limit_bytes=limit,
    )


def create_app(
    services: Services,
    allowed_origins: list[str],
    *,
    lazy: bool = True,
    limiter: RateLimiter | None = None,
    local_limiter: RateLimiter | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    """``max_body_bytes`` bounds every request body except a PDF submitted for signing,
    which may be as large as the signing settings allow (base64 in JSON included).
    ``lazy=False`` includes every router at once (the routes and OpenAPI are the same)."""
    app = FastAPI(
        title="Puente agent / Agente Puente",
        version=__version__,
        description="Local API of the station's devices. Loopback only; origin-checked.",
    )
    app.state.services = services
    app.state.allowed_origins = {o.rstrip("/") for o in allowed_origins}
    problems.install(app)
    routes = LazyRoutes(app, ROUTERS)
    if not lazy:
        routes.load_all()
    app.state.routes = routes
    max_pdf = services.signing.settings.max_pdf_bytes
    # Innermost: a request the gate or the body limit refuses loads no capability's routes.
    app.add_middleware(LoadRoutesMiddleware, routes=routes)
    # Inside the gate: an origin that may not call the agent is refused before any body limit.
    app.add_middleware(
        BodyLimitMiddleware,
        default_limit=max_body_bytes,
        rules=[BodyRule(r"/v1/signing/jobs", max(submission_limit(max_pdf), max_body_bytes))],
        problem=body_too_large,
    )
    app.add_middleware(
        LocalOnlyMiddleware,
        allowed_origins=allowed_origins,
        pairings=services.pairings,
        limiter=limiter,
        local_limiter=local_limiter,
        audit=services.audit,
    )
    return app
