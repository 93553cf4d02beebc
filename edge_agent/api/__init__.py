"""The local HTTP API (FastAPI): one router per concern behind the LocalOnly security gate."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from edge_agent import __version__
from edge_agent.activity import ActivityBoard
from edge_agent.api import activity as activity_api
from edge_agent.api import (
    events,
    fingerprint,
    identity,
    metrics,
    pairing,
    pharmacy,
    problems,
    scans,
    signing,
    status,
    vitals,
    vitals_inbox,
    vitals_stream,
)
from edge_agent.api.deps import Services
from edge_agent.api.security import LocalOnlyMiddleware
from edge_agent.api.signing import submission_limit
from edge_agent.audit import AuditLog
from edge_agent.errors import problem
from edge_agent.operator_pin import OperatorPin
from edge_agent.pairing import PairingStore
from edge_agent.ratelimit import RateLimiter
from puente_http.body_limit import BodyLimitMiddleware, BodyRule, too_large_detail

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_MAX_PDF_BYTES = 50 * 1024 * 1024


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
    pairings: PairingStore | None = None,
    limiter: RateLimiter | None = None,
    local_limiter: RateLimiter | None = None,
    audit: AuditLog | None = None,
    activity: ActivityBoard | None = None,
    operator_pin: OperatorPin | None = None,
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
    app.state.pairings = pairings
    app.state.allowed_origins = {o.rstrip("/") for o in allowed_origins}
    app.state.audit = audit
    app.state.activity = activity or ActivityBoard()
    app.state.operator_pin = operator_pin  # None: no consent that needs it can be given
    problems.install(app)
    for module in (
        status,
        identity,
        events,
        fingerprint,
        vitals,
        vitals_stream,
        vitals_inbox,
        metrics,
    ):
        app.include_router(module.router)
    app.include_router(scans.router)
    app.include_router(signing.router)
    app.include_router(pharmacy.router)
    if pairings is not None and audit is not None:
        app.include_router(pairing.router)
        app.include_router(activity_api.router)
    max_pdf = services.signing.settings.max_pdf_bytes if services.signing else DEFAULT_MAX_PDF_BYTES
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
        pairings=pairings,
        limiter=limiter,
        local_limiter=local_limiter,
        audit=audit,
    )
    return app
