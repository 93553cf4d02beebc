"""The puente.v1.Agent gRPC service: the agent's status, and recording a caller's event."""

from __future__ import annotations

from datetime import UTC

from edge_agent.capabilities.status.service import StatusService
from edge_agent.container import Services
from edge_agent.errors import AgentError, InvalidInput
from edge_agent.events import timestamp
from edge_agent.grpc_errors import to_grpc
from edge_agent.grpc_server import GrpcServer, ServicerContext
from edge_agent.record import RecordService
from protos import agent_pb2

SERVICE = agent_pb2.DESCRIPTOR.services_by_name["Agent"]
SERVICE_NAME = SERVICE.full_name  # "puente.v1.Agent"


class AgentServicer:
    def __init__(self, record: RecordService, status: StatusService) -> None:
        self.record = record
        self.status_service = status

    def GetStatus(
        self, request: agent_pb2.GetStatusRequest, context: ServicerContext
    ) -> agent_pb2.AgentStatus:
        s = self.status_service.status()
        link = agent_pb2.LinkInfo(
            connected=s.link.connected,
            broker=s.link.broker,
            in_flight=s.link.in_flight,
            reconnects=s.link.reconnects,
        )
        if s.link.last_receipt_at is not None:
            link.last_receipt_at.CopyFrom(timestamp(s.link.last_receipt_at))
        return agent_pb2.AgentStatus(
            station_id=s.station_id,
            unit_id=s.unit_id,
            version=s.version,
            devices=[
                agent_pb2.DeviceInfo(
                    device_id=d.device_id,
                    family=d.family,
                    driver=d.driver,
                    state=d.state,  # type: ignore[arg-type]  # an int the protobuf enum field accepts
                    identity=d.identity,
                    detail=d.detail,
                )
                for d in s.devices
            ],
            outbox=agent_pb2.OutboxInfo(**vars(s.outbox)),
            link=link,
        )

    def RecordEvent(
        self, request: agent_pb2.RecordEventRequest, context: ServicerContext
    ) -> agent_pb2.RecordEventResponse:
        event = request.event
        name = event.WhichOneof("payload")
        try:
            if name is None:
                raise InvalidInput(
                    "event.payload is not set / el evento no trae contenido", code="no_payload"
                )
            event_id, seq = self.record.record(
                payload_name=name,
                payload=getattr(event, name),
                device_id=event.device_id,
                case_id=event.case_id,
                patient_id=event.patient_id,
                occurred_at=event.occurred_at.ToDatetime(tzinfo=UTC)
                if event.HasField("occurred_at")
                else None,
            )
        except AgentError as exc:
            code, details = to_grpc(exc)
            context.abort(code, details)
        return agent_pb2.RecordEventResponse(event_id=event_id, station_seq=seq)


def register(server: GrpcServer, services: Services) -> tuple[str, ...]:
    return (server.add(AgentServicer(services.record, services.status), SERVICE),)
