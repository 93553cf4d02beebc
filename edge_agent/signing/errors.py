"""Signing errors, and token errors translated for both transports (HTTP problem, gRPC status)."""

from __future__ import annotations

from typing import Any

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


class CertificateRevoked(AgentError):
    """The CA says the signing certificate (or a CA of its chain) is revoked: never signed."""

    code = "certificate_revoked"
    title = "Certificate revoked / Certificado revocado"
    http_status = 422
    grpc_code = grpc.StatusCode.FAILED_PRECONDITION

    @classmethod
    def of(cls, subject: str, serial: str, status: Any) -> CertificateRevoked:
        when = f"{status.revoked_at:%Y-%m-%d %H:%M} UTC" if status.revoked_at else "?"
        whose = (
            ("a CA of its chain is", "una CA de su cadena está")
            if status.ca_revoked
            else ("it was", "fue")
        )
        return cls(
            f"the certificate {subject} (serial {serial}) cannot sign: {whose[0]} revoked on "
            f"{when}, reason: {status.reason_en} (answer of the CA's {status.source}); nothing "
            f"was signed and no PIN is needed / el certificado {subject} (serie {serial}) no "
            f"puede firmar: {whose[1]} revocado el {when}, motivo: {status.reason_es} "
            f"(respuesta {status.source} de la CA); no se firmó nada y no se pide el PIN"
        )


class RevocationUnavailable(AgentError):
    """The CA could not be asked and the document type's policy says: do not sign."""

    code = "revocation_unavailable"
    title = "Revocation status unavailable / Estado de revocación no disponible"
    http_status = 503
    grpc_code = grpc.StatusCode.UNAVAILABLE

    @classmethod
    def of(
        cls, subject: str, serial: str, document_type: str, detail: str
    ) -> RevocationUnavailable:
        return cls(
            f"the revocation status of the certificate {subject} (serial {serial}) cannot be "
            f"obtained from its CA ({detail}); the signing policy of {document_type} is to "
            "refuse until it can: try again later / no se puede obtener de la CA el estado de "
            f"revocación del certificado {subject} (serie {serial}); la política de firma de "
            f"{document_type} es no firmar hasta poder verificarlo: intente más tarde"
        )


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
