"""The local HTTP API (FastAPI): one router per concern behind the LocalOnly security gate."""

from __future__ import annotations

from fastapi import FastAPI

from edge_agent import __version__
from edge_agent.api import events, identity, metrics, problems, status, vitals
from edge_agent.api.deps import Services
from edge_agent.api.security import LocalOnlyMiddleware


def create_app(services: Services, allowed_origins: list[str]) -> FastAPI:
    app = FastAPI(
        title="Puente agent / Agente Puente",
        version=__version__,
        description="Local API of the station's devices. Loopback only; origin-checked.",
    )
    app.state.services = services
    problems.install(app)
    for module in (status, identity, events, vitals, metrics):
        app.include_router(module.router)
    app.add_middleware(LocalOnlyMiddleware, allowed_origins=allowed_origins)
    return app
