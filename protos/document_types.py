"""Document types and the signers each requires, in order (read by the agent and the hub).

``signers`` is the workflow: the roles that must sign, in this order. An
advanced signature (PAdES with a token) is required unless ``simple_allowed``.
``stamp`` says whether a visible signature stamp is drawn on the first page.
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

    @property
    def title(self) -> str:
        return f"{self.title_en} / {self.title_es}"


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
        ),
        DocumentType(
            "SPS-4",
            "Transfer sheet",
            "Hoja de traslado",
            ("doctor", "head_of_service"),
            stamp=True,
        ),
        DocumentType("SPS-35", "Medical order", "Orden médica", ("doctor",)),
        DocumentType(
            "PRESCRIPTION", "Prescription", "Receta médica", ("doctor", "pharmacist"), stamp=True
        ),
        DocumentType(
            "CONSTANCIA",
            "Attendance note",
            "Constancia de atención",
            ("clerk",),
            simple_allowed=True,
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
