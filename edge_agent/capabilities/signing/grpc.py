"""The puente.v1.Signing gRPC service: the same signing jobs as HTTP, translated."""

from __future__ import annotations

from collections.abc import Callable

from grpclib.const import Status

from edge_agent.capabilities.signing import policy
from edge_agent.capabilities.signing.job import SigningJob
from edge_agent.capabilities.signing.service import SigningService
from edge_agent.container import Services
from edge_agent.errors import AgentError
from edge_agent.events import timestamp
from edge_agent.grpc_auth import board_origin, current_app
from edge_agent.grpc_errors import to_grpc
from edge_agent.grpc_server import GrpcServer, ServicerContext
from protos import signing_pb2
from protos.simple_signature import UserAssertion

SERVICE = signing_pb2.DESCRIPTOR.services_by_name["Signing"]
SERVICE_NAME = SERVICE.full_name


class SigningServicer:
    def __init__(self, service: SigningService, http_url: Callable[[], str]) -> None:
        self.service = service
        self.http_url = http_url

    def _job(self, job: SigningJob) -> signing_pb2.SigningJob:
        return signing_pb2.SigningJob(
            job_id=job.job_id,
            status=job.status,
            document_id=job.document_id,
            input_sha256=job.input_sha256,
            consent_url=f"{self.http_url()}/v1/signing/consent/{job.job_id}",
            error_code=job.error_code,
            error_reason=job.error_reason,
            signed_sha256=job.signed_sha256,
            level=job.level,
            event_id=job.event_id,
            kind=job.kind,
            revocation=job.revocation,
            revocation_note=policy.note(job.revocation, job.document_type, job.revocation_detail),
        )

    def ListCertificates(
        self, request: signing_pb2.ListCertificatesRequest, context: ServicerContext
    ) -> signing_pb2.ListCertificatesResponse:
        out = signing_pb2.ListCertificatesResponse()
        for device_id, token in self.service.token_devices():
            for c in token.certificates():
                out.certificates.add(
                    cert_id=c.cert_id,
                    device_id=device_id,
                    token_label=c.token_label,
                    token_serial=c.token_serial,
                    subject=c.subject,
                    issuer=c.issuer,
                    serial=c.serial,
                    not_before=timestamp(c.not_before),
                    not_after=timestamp(c.not_after),
                    key_usage=list(c.key_usage),
                    key_type=c.key_type.value,
                )
        return out

    def SubmitDocument(
        self, request: signing_pb2.SubmitDocumentRequest, context: ServicerContext
    ) -> signing_pb2.SigningJob:
        # Who asked is the authenticated app, never request.origin (self-declared, ignored).
        app = current_app()
        origin = board_origin(app) if app else "grpc (no autenticada / unauthenticated)"
        user = None
        if request.signature == "simple":
            user = UserAssertion(request.user_id, request.user_name, request.role, origin)
        elif request.signature not in ("", "advanced"):
            context.abort(Status.INVALID_ARGUMENT, "signature: advanced or simple")
        try:
            job = self.service.submit(
                pdf=request.pdf,
                document_type=request.document_type,
                case_id=request.case_id,
                patient_id=request.patient_id,
                role=request.role,
                origin=origin,
                cert_id=request.cert_id or None,
                document_id=request.document_id or None,
                user=user,
            )
        except AgentError as exc:
            context.abort(*to_grpc(exc))
        return self._job(job)

    def GetJob(
        self, request: signing_pb2.GetJobRequest, context: ServicerContext
    ) -> signing_pb2.SigningJob:
        try:
            job = self.service.wait(request.job_id, min(max(request.wait_s, 0.0), 120.0))
        except AgentError as exc:
            context.abort(*to_grpc(exc))
        return self._job(job)

    def GetSignedPdf(
        self, request: signing_pb2.GetJobRequest, context: ServicerContext
    ) -> signing_pb2.SignedPdf:
        try:
            job = self.service.get(request.job_id)
            data = self.service.signed_pdf(request.job_id)
        except AgentError as exc:
            context.abort(*to_grpc(exc))
        return signing_pb2.SignedPdf(pdf=data, sha256=job.signed_sha256)


def register(server: GrpcServer, services: Services) -> tuple[str, ...]:
    return (server.add(SigningServicer(services.signing, services.http_url), SERVICE),)
