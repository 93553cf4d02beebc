"""Document types and the signers each requires, in order (read by the agent and the hub).

``signers`` is the workflow: the roles that must sign, in this order. An
advanced signature (PAdES with a token) is required unless ``simple_allowed``.
``stamp`` says whether a visible signature stamp is drawn on the first page.

``revocation_unknown`` is the signing policy when the certificate's revocation
status cannot be obtained (the CA's OCSP responder and CRL are unreachable):
``refuse`` (nothing is signed; the person tries again later) or ``sign_pending``
(sign, and mark the document "revocation pending" until the hub checks it).
A REVOKED certificate is always refused, whatever the type.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DocumentType:
    code: str
    title_en: str
    title_es: str
    signers: tuple[str, ...]
    stamp: bool = False
    simple_allowed: bool = False
    revocation_unknown: str = "refuse"  # REFUSE or SIGN_PENDING

    @property
    def title(self) -> str:
        return f"{self.title_en} / {self.title_es}"


# Signing policies when revocation status cannot be obtained (``revocation_unknown``).
REFUSE, SIGN_PENDING = "refuse", "sign_pending"

# Roles, as they appear in SignerInfo.role.
ROLES = {
    "doctor": "Doctor / Médico tratante",
    "director": "Medical director / Director médico",
    "head_of_service": "Head of service / Jefe de servicio",
    "pharmacist": "Pharmacist / Químico farmacéutico",
    "clerk": "Clerk / Oficinista",
}

DOCUMENT_TYPES: dict[str, DocumentType] = {
    t.code: t
    for t in (
        DocumentType(
            "SPS-53",
            "Sick-leave certificate",
            "Certificado de suspensión",
            ("doctor", "director"),
            stamp=True,
            revocation_unknown=REFUSE,  # pays a benefit; it can wait until the CA answers
        ),
        DocumentType(
            "SPS-4",
            "Transfer sheet",
            "Hoja de traslado",
            ("doctor", "head_of_service"),
            stamp=True,
            revocation_unknown=SIGN_PENDING,  # a transfer cannot wait for the CA
        ),
        DocumentType(
            "SPS-35", "Medical order", "Orden médica", ("doctor",), revocation_unknown=SIGN_PENDING
        ),
        DocumentType(
            "PRESCRIPTION",
            "Prescription",
            "Receta médica",
            ("doctor", "pharmacist"),
            stamp=True,
            revocation_unknown=SIGN_PENDING,  # treatment cannot wait for the CA
        ),
        DocumentType(
            "CONSTANCIA",
            "Attendance note",
            "Constancia de atención",
            ("clerk",),
            simple_allowed=True,
            revocation_unknown=SIGN_PENDING,
        ),
    )
}


def document_type(code: str) -> DocumentType | None:
    return DOCUMENT_TYPES.get(code)


def next_role(code: str, signed_roles: list[str]) -> str | None:
    """The role that must sign next, given the roles that signed (in order); None when done."""
    dtype = DOCUMENT_TYPES.get(code)
    if dtype is None:
        return None
    for role in dtype.signers:
        if role not in signed_roles:
            return role
    return None
