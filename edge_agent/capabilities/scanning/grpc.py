"""The puente.v1.Scanning gRPC service: the scan use case with its progress as a server stream."""

from __future__ import annotations

from edge_agent.capabilities.scanning.service import JobSnapshot, ScanRequest, ScanService
from edge_agent.container import Services
from edge_agent.devices import identity_pb
from edge_agent.errors import AgentError
from edge_agent.grpc_errors import to_grpc
from edge_agent.grpc_server import GrpcServer, ServicerContext
from protos import events_pb2, scanning_pb2

SERVICE = scanning_pb2.DESCRIPTOR.services_by_name["Scanning"]
SERVICE_NAME = SERVICE.full_name


def progress_pb(s: JobSnapshot) -> scanning_pb2.ScanProgress:
    out = scanning_pb2.ScanProgress(
        job_id=s.job_id,
        state=s.state,
        pages_scanned=s.pages_scanned,
        pages_expected=s.pages_expected,
        blank_pages_dropped=s.blank_pages_dropped,
        error_code=s.error_code,
        error_reason=s.error_reason,
    )
    if s.result is not None:
        r = s.result
        out.result.CopyFrom(
            scanning_pb2.ScanResult(
                event_id=r.event_id,
                station_seq=r.station_seq,
                document_id=r.document_id,
                body=r.document.body,
                pages=r.pages,
                blank_pages_dropped=r.blank_pages_dropped,
                expected_pages=r.expected_pages,
                page_count_note=r.page_count_note,
            )
        )
    return out


class ScanningServicer:
    def __init__(self, service: ScanService) -> None:
        self.service = service

    def ListScanners(
        self, request: scanning_pb2.ListScannersRequest, context: ServicerContext
    ) -> scanning_pb2.ListScannersResponse:
        out = scanning_pb2.ListScannersResponse()
        for s in self.service.scanners():
            info = out.scanners.add(
                device_id=s.device_id,
                driver=s.driver,
                state=events_pb2.DeviceState.Value(s.state),
                error_code=s.error_code,
            )
            info.identity.CopyFrom(identity_pb(None, s.driver))
            info.identity.model = s.model
            if s.capabilities is not None:
                c = s.capabilities
                info.capabilities.CopyFrom(
                    scanning_pb2.ScannerCapabilities(
                        sources=c.sources,
                        modes=c.modes,
                        resolutions=c.resolutions,
                        max_width_mm=c.max_width_mm,
                        max_height_mm=c.max_height_mm,
                    )
                )
        return out

    def Scan(self, request: scanning_pb2.ScanRequest, context: ServicerContext):  # type: ignore[no-untyped-def]  # grpc's generated servicer and interceptor hooks are untyped
        r = request
        try:
            job = self.service.start(
                ScanRequest(
                    r.device_id,
                    r.case_id,
                    r.patient_id,
                    r.document_type,
                    r.title,
                    r.source or "flatbed",
                    r.mode or "gray",
                    r.resolution_dpi or 300,
                    r.drop_blank_pages,
                    r.max_pages,
                    r.expected_pages,
                    r.operator_id,
                )
            )
        except AgentError as exc:
            context.abort(*to_grpc(exc))

        # The caller hanging up cancels the scan (a no-op once it has ended).
        def cancel() -> None:
            self.service.cancel(job.job_id)

        context.add_callback(cancel)
        for snap in job.watch():
            if snap.error is not None:
                context.abort(*to_grpc(snap.error))
            yield progress_pb(snap)

    def CancelScan(
        self, request: scanning_pb2.CancelScanRequest, context: ServicerContext
    ) -> scanning_pb2.ScanProgress:
        try:
            return progress_pb(self.service.cancel(request.job_id))
        except AgentError as exc:
            context.abort(*to_grpc(exc))
            raise


def register(server: GrpcServer, services: Services) -> tuple[str, ...]:
    return (server.add(ScanningServicer(services.scan), SERVICE),)
