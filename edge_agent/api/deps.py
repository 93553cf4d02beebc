"""Shared dependencies of the routers: the service objects the transports translate to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request

from edge_agent.identity import StationIdentity
from edge_agent.metrics import AgentMetrics
from edge_agent.services import RecordService, StatusService, VitalsService


@dataclass(frozen=True)
class Services:
    record: RecordService
    vitals: VitalsService
    status: StatusService
    metrics: AgentMetrics
    identity: StationIdentity
    fingerprint: Any = None  # edge_agent.biometrics.service.FingerprintService
    scan: Any = None  # edge_agent.services.scan.ScanService
    signing: Any = None  # edge_agent.signing.service.SigningService
    pharmacy: Any = None  # edge_agent.pharmacy.service.DispensingService


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


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
