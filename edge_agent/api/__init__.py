"""The local HTTP API (FastAPI): one router per concern behind the LocalOnly security gate."""

from __future__ import annotations

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
from edge_agent.audit import AuditLog
from edge_agent.operator_pin import OperatorPin
from edge_agent.pairing import PairingStore
from edge_agent.ratelimit import RateLimiter


def create_app(
    services: Services,
    allowed_origins: list[str],
    *,
    pairings: PairingStore | None = None,
    limiter: RateLimiter | None = None,
    audit: AuditLog | None = None,
    activity: ActivityBoard | None = None,
    operator_pin: OperatorPin | None = None,
) -> FastAPI:
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
    if pairings is not None and audit is not None:
        app.include_router(pairing.router)
        app.include_router(activity_api.router)
    app.add_middleware(
        LocalOnlyMiddleware,
        allowed_origins=allowed_origins,
        pairings=pairings,
        limiter=limiter,
        audit=audit,
    )
    return app
