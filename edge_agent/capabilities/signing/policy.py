"""The signing policy on revocation: revoked is refused, unknown follows the document type.

Asked at submit (before the consent page asks for any PIN) and again right
before the token signs. REVOKED (by OCSP or CRL, as the CA named in the
certificate publishes it) raises :class:`CertificateRevoked` for every
document type. UNKNOWN (the CA cannot be reached) follows the type's
``revocation_unknown``: ``refuse`` raises :class:`RevocationUnavailable`;
``sign_pending`` signs and marks the document "revocation pending" (carried to
the hub in ``SignerInfo.revocation``), and the consent page says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drivers.token.base import CertificateInfo
from edge_agent.capabilities.signing.errors import CertificateRevoked, RevocationUnavailable
from edge_agent.capabilities.signing.settings import SigningSettings
from protos.document_types import DOCUMENT_TYPES, SIGN_PENDING

if TYPE_CHECKING:
    from edge_agent.capabilities.signing.revocation import RevocationChecker, RevocationStatus

GOOD, PENDING = "good", "pending"  # what a job records of its certificate's status


def checker(trust_roots: list[bytes], chain: list[bytes], settings: SigningSettings) -> Any:
    """A RevocationChecker (pyhanko-certvalidator loads with the first signature)."""
    from edge_agent.capabilities.signing.revocation import RevocationChecker

    return RevocationChecker(
        trust_roots, chain, settings.revocation_timeout_s, settings.revocation_max_age_s
    )


def revocation_gate(
    revocation: RevocationChecker, cert: CertificateInfo, document_type: str
) -> tuple[str, str, RevocationStatus]:
    """(GOOD or PENDING, why pending, the CA's answer); raises when the policy refuses."""
    from edge_agent.capabilities.signing.revocation import GOOD as CA_GOOD
    from edge_agent.capabilities.signing.revocation import REVOKED

    status = revocation.status(cert.der)
    if status.status == REVOKED:
        raise CertificateRevoked.of(cert.subject, cert.serial, status)
    if status.status == CA_GOOD:
        return GOOD, "", status
    dtype = DOCUMENT_TYPES[document_type]
    if dtype.revocation_unknown != SIGN_PENDING:
        raise RevocationUnavailable.of(cert.subject, cert.serial, document_type, status.detail)
    return PENDING, status.detail, status


def note(revocation: str, document_type: str, detail: str) -> str:
    """What the consent page and the job say about the certificate's revocation status."""
    if revocation == GOOD:
        return (
            "Certificado verificado con su CA: no revocado / "
            "Certificate checked with its CA: not revoked"
        )
    if revocation == PENDING:
        return (
            "No se pudo verificar con la CA si el certificado está revocado "
            f"({detail}). Política de {document_type}: se firma y el documento queda marcado "
            "«revocación pendiente» hasta que el hub lo verifique / The certificate's "
            f"revocation status could not be obtained from its CA. {document_type} policy: it "
            'is signed and the document is marked "revocation pending" until the hub checks it'
        )
    return ""
