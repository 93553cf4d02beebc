"""The puente.v1.Fingerprint gRPC service: the same use cases as the HTTP routes."""

from __future__ import annotations

from edge_agent.capabilities.fingerprint.service import FingerprintService
from edge_agent.container import Services
from edge_agent.errors import AgentError
from edge_agent.grpc_errors import to_grpc
from edge_agent.grpc_server import GrpcServer, ServicerContext
from protos import fingerprint_pb2

SERVICE = fingerprint_pb2.DESCRIPTOR.services_by_name["Fingerprint"]
SERVICE_NAME = SERVICE.full_name


class FingerprintServicer:
    def __init__(self, service: FingerprintService) -> None:
        self.service = service

    def Enroll(
        self, request: fingerprint_pb2.EnrollRequest, context: ServicerContext
    ) -> fingerprint_pb2.EnrollResponse:
        try:
            r = self.service.enroll(
                request.device_id,
                request.case_id,
                request.patient_id,
                request.finger,
                request.operator_id,
                request.impressions,
                request.timeout_s or 20.0,
            )
        except AgentError as exc:
            context.abort(*to_grpc(exc))
        return fingerprint_pb2.EnrollResponse(
            event_id=r.event_id,
            station_seq=r.station_seq,
            template_sha256=r.template_sha256,
            impression_quality=r.impression_quality,
        )

    def Verify(
        self, request: fingerprint_pb2.VerifyRequest, context: ServicerContext
    ) -> fingerprint_pb2.VerifyResponse:
        try:
            r = self.service.verify(
                request.device_id,
                request.case_id,
                request.patient_id,
                request.step,
                request.operator_id,
                request.timeout_s or 20.0,
            )
        except AgentError as exc:
            context.abort(*to_grpc(exc))
        c = r.confirmation
        return fingerprint_pb2.VerifyResponse(
            event_id=r.event_id,
            station_seq=r.station_seq,
            decision=c.decision,
            score=c.score,
            threshold=c.threshold,
            quality=c.quality,
            finger=c.finger,
            templates_source=r.templates_source,
            reason=c.reason,
        )

    def ListReaders(
        self, request: fingerprint_pb2.ListReadersRequest, context: ServicerContext
    ) -> fingerprint_pb2.ListReadersResponse:
        try:
            found = self.service.readers()
        except AgentError as exc:
            context.abort(*to_grpc(exc))
        return fingerprint_pb2.ListReadersResponse(
            readers=[
                fingerprint_pb2.Reader(
                    usb_id=r.usb_id,
                    vendor=r.vendor,
                    model=r.model,
                    driver=r.driver,
                    supported=r.supported,
                )
                for r in found
            ]
        )


def register(server: GrpcServer, services: Services) -> tuple[str, ...]:
    return (server.add(FingerprintServicer(services.fingerprint), SERVICE),)
