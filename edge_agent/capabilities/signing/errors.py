"""Errors of the signing use cases, and the token's errors as the agent's (one table)."""

from __future__ import annotations

from typing import Any

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
from edge_agent.errors import AgentError, Outcome, Rule, from_driver_error


class SigningFailed(AgentError):
    code = "signing_failed"
    title = "Signing failed / No se pudo firmar"
    http_status = 502
    grpc_status = "UNAVAILABLE"


class NotAPdfError(AgentError):
    code = "not_a_pdf"
    title = "Not a PDF / No es un PDF"
    http_status = 415
    grpc_status = "INVALID_ARGUMENT"


class JobNotFound(AgentError):
    code = "job_not_found"
    title = "No such signing job / No existe la solicitud de firma"
    http_status = 404
    grpc_status = "NOT_FOUND"


class JobState(AgentError):
    code = "job_not_awaiting_consent"
    title = "Job is not awaiting consent / La solicitud no espera autorización"
    http_status = 409
    grpc_status = "FAILED_PRECONDITION"


class ConsentRefused(AgentError):
    """Consent came from somewhere other than the agent's own consent page."""

    code = "consent_origin"
    title = "Consent only on the agent's page / Autorización solo en la página del agente"
    http_status = 403
    grpc_status = "PERMISSION_DENIED"


class CertificateRevoked(AgentError):
    """The CA says the signing certificate (or a CA of its chain) is revoked: never signed."""

    code = "certificate_revoked"
    title = "Certificate revoked / Certificado revocado"
    http_status = 422
    grpc_status = "FAILED_PRECONDITION"

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
    grpc_status = "UNAVAILABLE"

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


TOKEN_RULES: tuple[Rule, ...] = (
    (WrongPin, Outcome(403, "PERMISSION_DENIED", "Wrong PIN / PIN incorrecto")),
    (PinLocked, Outcome(423, "PERMISSION_DENIED", "PIN locked / PIN bloqueado")),
    (PinRequired, Outcome(401, "UNAUTHENTICATED", "PIN required / Se requiere el PIN")),
    (TokenAbsent, Outcome(503, "UNAVAILABLE", "Token not connected / Token no conectado")),
    (
        CertificateExpired,
        Outcome(422, "FAILED_PRECONDITION", "Certificate expired / Certificado vencido"),
    ),
    (
        CertificateNotYetValid,
        Outcome(
            422, "FAILED_PRECONDITION", "Certificate not yet valid / Certificado aún no vigente"
        ),
    ),
    (
        NoSuchCertificate,
        Outcome(404, "NOT_FOUND", "Certificate not found / Certificado no encontrado"),
    ),
)


def from_token_error(exc: TokenError) -> AgentError:
    return from_driver_error(exc, TOKEN_RULES, error=SigningFailed)
