"""Signing errors, and token errors translated for both transports (HTTP problem, gRPC status)."""

from __future__ import annotations

import grpc

from drivers.token.base import (
    CertificateExpired,
    CertificateNotYetValid,
    NoSuchCertificate,
    PinLocked,
    PinRequired,
    TokenAbsent,
    TokenError,
    WrongPin,
)
from edge_agent.errors import AgentError


class SigningFailed(AgentError):
    code = "signing_failed"
    title = "Signing failed / No se pudo firmar"
    http_status = 502
    grpc_code = grpc.StatusCode.UNAVAILABLE


class NotAPdfError(AgentError):
    code = "not_a_pdf"
    title = "Not a PDF / No es un PDF"
    http_status = 415
    grpc_code = grpc.StatusCode.INVALID_ARGUMENT


class JobNotFound(AgentError):
    code = "job_not_found"
    title = "No such signing job / No existe la solicitud de firma"
    http_status = 404
    grpc_code = grpc.StatusCode.NOT_FOUND


class JobState(AgentError):
    code = "job_not_awaiting_consent"
    title = "Job is not awaiting consent / La solicitud no espera autorización"
    http_status = 409
    grpc_code = grpc.StatusCode.FAILED_PRECONDITION


class ConsentRefused(AgentError):
    """Consent came from somewhere other than the agent's own consent page."""

    code = "consent_origin"
    title = "Consent only on the agent's page / Autorización solo en la página del agente"
    http_status = 403
    grpc_code = grpc.StatusCode.PERMISSION_DENIED


# token error class -> (title, HTTP status, gRPC code)
_TOKEN_ERRORS: list[tuple[type[TokenError], str, int, grpc.StatusCode]] = [
    (WrongPin, "Wrong PIN / PIN incorrecto", 403, grpc.StatusCode.PERMISSION_DENIED),
    (PinLocked, "PIN locked / PIN bloqueado", 423, grpc.StatusCode.PERMISSION_DENIED),
    (PinRequired, "PIN required / Se requiere el PIN", 401, grpc.StatusCode.UNAUTHENTICATED),
    (TokenAbsent, "Token not connected / Token no conectado", 503, grpc.StatusCode.UNAVAILABLE),
    (
        CertificateExpired,
        "Certificate expired / Certificado vencido",
        422,
        grpc.StatusCode.FAILED_PRECONDITION,
    ),
    (
        CertificateNotYetValid,
        "Certificate not yet valid / Certificado aún no vigente",
        422,
        grpc.StatusCode.FAILED_PRECONDITION,
    ),
    (
        NoSuchCertificate,
        "Certificate not found / Certificado no encontrado",
        404,
        grpc.StatusCode.NOT_FOUND,
    ),
]


def from_token_error(exc: TokenError) -> AgentError:
    err = SigningFailed(exc.reason, code=exc.code)
    for cls, title, status, grpc_code in _TOKEN_ERRORS:
        if isinstance(exc, cls):
            err.title, err.http_status, err.grpc_code = title, status, grpc_code
            break
    return err
