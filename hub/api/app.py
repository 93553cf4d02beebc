"""The FastAPI application of the hub, assembled from one router per concern."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

import hub
from hub.api import cases, events, health, problems, stations, tokens
from hub.metrics import HubMetrics
from hub.storage.base import Store


def create_app(
    store: Store, metrics: HubMetrics, mqtt_connected: Callable[[], bool] = lambda: False
) -> FastAPI:
    app = FastAPI(
        title="Puente hub",
        version=hub.__version__,
        description="Cases, events and stations of Puente / casos, eventos y estaciones.",
    )
    app.state.store = store
    app.state.metrics = metrics
    app.state.mqtt_connected = mqtt_connected
    problems.install(app)
    for module in (cases, events, stations, tokens, health):
        app.include_router(module.router)
    return app
