"""The local HTTP API (FastAPI): one router per concern behind the LocalOnly security gate."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from edge_agent import __version__
from edge_agent.api import identity, metrics, problems
from edge_agent.api.problems import problem
from edge_agent.api.security import LocalOnlyMiddleware
from edge_agent.capabilities.activity import http as activity_http
from edge_agent.capabilities.fingerprint import http as fingerprint_http
from edge_agent.capabilities.pairing import http as pairing_http
from edge_agent.capabilities.pharmacy import http as pharmacy_http
from edge_agent.capabilities.scanning import http as scanning_http
from edge_agent.capabilities.signing import http as signing_http
from edge_agent.capabilities.signing.http import submission_limit
from edge_agent.capabilities.status import http as status_http
from edge_agent.capabilities.status import http_events
from edge_agent.capabilities.vitals import http as vitals_http
from edge_agent.capabilities.vitals import http_inbox as vitals_inbox_http
from edge_agent.capabilities.vitals import http_stream as vitals_stream_http
from edge_agent.container import Services
from edge_agent.ratelimit import RateLimiter
from puente_http.body_limit import BodyLimitMiddleware, BodyRule, too_large_detail

# Every capability's router, in the order the OpenAPI document lists them.
ROUTERS = (
    status_http.router,
    identity.router,
    http_events.router,
    fingerprint_http.router,
    vitals_http.router,
    vitals_stream_http.router,
    vitals_inbox_http.router,
    metrics.router,
    scanning_http.router,
    signing_http.router,
    pharmacy_http.router,
    pairing_http.router,
    activity_http.router,
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
    limiter: RateLimiter | None = None,
    local_limiter: RateLimiter | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> FastAPI:
    """``max_body_bytes`` bounds every request body except a PDF submitted for signing,
    which may be as large as the signing settings allow (base64 in JSON included)."""
    app = FastAPI(
        title="Puente agent / Agente Puente",
        version=__version__,
        description="Local API of the station's devices. Loopback only; origin-checked.",
    )
    app.state.services = services
    app.state.allowed_origins = {o.rstrip("/") for o in allowed_origins}
    problems.install(app)
    for router in ROUTERS:
        app.include_router(router)
    max_pdf = services.signing.settings.max_pdf_bytes
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
