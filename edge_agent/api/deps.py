"""Shared dependencies of the routers: the service objects the transports translate to."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request

from edge_agent.container import Services

if TYPE_CHECKING:
    from edge_agent.capabilities.status.service import StatusService
    from edge_agent.capabilities.vitals.service import VitalsService
    from edge_agent.identity import StationIdentity
    from edge_agent.metrics import AgentMetrics
    from edge_agent.record import RecordService


def services(request: Request) -> Services:
    container: Services = request.app.state.services
    return container


def record_service(request: Request) -> RecordService:
    return services(request).record


def vitals_service(request: Request) -> VitalsService:
    return services(request).vitals


def status_service(request: Request) -> StatusService:
    return services(request).status


def agent_metrics(request: Request) -> AgentMetrics:
    return services(request).metrics


def station_identity(request: Request) -> StationIdentity:
    return services(request).identity
