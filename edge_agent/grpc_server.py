"""The local gRPC server: the Agent service over the same use cases, health, reflection."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from edge_agent.errors import AgentError, InvalidInput, to_grpc
from edge_agent.events import timestamp
from edge_agent.services import RecordService, StatusService
from protos import agent_pb2, agent_pb2_grpc

log = logging.getLogger(__name__)

SERVICE_NAME = agent_pb2.DESCRIPTOR.services_by_name["Agent"].full_name  # "puente.v1.Agent"
MAX_WORKERS = 32  # concurrent RecordEvent calls queue on the outbox together and share fsyncs


class AgentServicer(agent_pb2_grpc.AgentServicer):
    def __init__(self, record: RecordService, status: StatusService) -> None:
        self.record = record
        self.status_service = status

    def GetStatus(
        self, request: agent_pb2.GetStatusRequest, context: grpc.ServicerContext
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
                    state=d.state,  # type: ignore[arg-type]
                    identity=d.identity,
                    detail=d.detail,
                )
                for d in s.devices
            ],
            outbox=agent_pb2.OutboxInfo(**vars(s.outbox)),
            link=link,
        )

    def RecordEvent(
        self, request: agent_pb2.RecordEventRequest, context: grpc.ServicerContext
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


class GrpcServer:
    def __init__(
        self,
        servicer: AgentServicer,
        host: str,
        port: int,
        interceptors: Sequence[grpc.ServerInterceptor] = (),
    ) -> None:
        # The gate (edge_agent.grpc_auth.GateInterceptor) sees every call before a servicer.
        self.server = grpc.server(
            ThreadPoolExecutor(MAX_WORKERS, thread_name_prefix="grpc"),
            interceptors=list(interceptors),
        )
        agent_pb2_grpc.add_AgentServicer_to_server(servicer, self.server)
        self.health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        # Services listed by reflection; capability services append their names before start().
        self.reflected = [SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME]
        bind_host = f"[{host}]" if ":" in host else host
        self.port = self.server.add_insecure_port(f"{bind_host}:{port}")
        if self.port == 0:
            raise OSError(f"could not bind gRPC on {host}:{port} / no se pudo abrir gRPC")
        self.host = host

    def start(self) -> None:
        reflection.enable_server_reflection(tuple(self.reflected), self.server)
        self.server.start()
        for name in ("", SERVICE_NAME):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    def stop(self, grace_s: float = 2.0) -> None:
        self.health.enter_graceful_shutdown()
        self.server.stop(grace_s).wait()
