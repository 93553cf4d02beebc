"""Use cases over the outbox and the drivers, shared by the HTTP and gRPC transports."""

from edge_agent.services.record import RecordService
from edge_agent.services.status import AgentStatus, StatusService
from edge_agent.services.vitals import VitalsResult, VitalsService

__all__ = ["AgentStatus", "RecordService", "StatusService", "VitalsResult", "VitalsService"]
