"""Checks of a signing request before any job exists: nothing is kept, no PIN is asked, when one
fails (document type and role, size, a PDF already signed, what a simple signature needs)."""

from __future__ import annotations

from edge_agent.capabilities.signing.pdf_files import PdfTooLarge
from edge_agent.errors import InvalidInput
from protos.document_types import DOCUMENT_TYPES, DocumentType
from protos.simple_signature import UserAssertion


def document_type_and_role(document_type: str, role: str) -> DocumentType:
    dtype = DOCUMENT_TYPES.get(document_type)
    if dtype is None:
        raise InvalidInput(
            f"unknown document type {document_type!r}; known: {', '.join(DOCUMENT_TYPES)} / "
            "tipo de documento desconocido",
            code="unknown_document_type",
        )
    if role not in dtype.signers:
        raise InvalidInput(
            f"{document_type} is signed by {', '.join(dtype.signers)}, not {role!r} / "
            f"el rol {role!r} no firma {document_type}",
            code="role_not_in_workflow",
        )
    return dtype


def size(size_bytes: int, max_bytes: int) -> None:
    if size_bytes > max_bytes:
        raise PdfTooLarge(max_bytes)


def document_id(existing_signatures: int, document_id: str | None) -> None:
    if existing_signatures and not document_id:
        raise InvalidInput(
            "this PDF is already signed: send the document_id of its first signature / "
            "el PDF ya está firmado: envíe el document_id de la primera firma",
            code="document_id_required",
        )


def simple(
    *,
    station_key: bool,
    allowed: bool,
    document_type: str,
    existing_signatures: int,
    user: UserAssertion,
    role: str,
) -> None:
    """What a SIMPLE signature needs: the station key, a document type that allows it, a PDF
    without advanced signatures, and the user the clinical system asserts, in the signing role."""
    if not station_key:
        raise InvalidInput(
            "simple signatures need the station key / la firma simple requiere la clave de "
            "la estación",
            code="simple_unavailable",
        )
    if not allowed:
        raise InvalidInput(
            f"{document_type} requires an ADVANCED signature with the token; a simple "
            f"signature is not allowed / {document_type} requiere firma AVANZADA con token; "
            "no se permite la firma simple",
            code="simple_not_allowed",
        )
    if existing_signatures:
        raise InvalidInput(
            "a simple signature is not added to a PDF that carries advanced signatures / "
            "no se agrega una firma simple a un PDF con firmas avanzadas",
            code="simple_on_signed_pdf",
        )
    if not user.user_id.strip() or not user.name.strip():
        raise InvalidInput(
            "a simple signature needs the user's id and name as the clinical system asserts "
            "them / la firma simple requiere el id y el nombre del usuario",
            code="user_assertion_required",
        )
    if user.role != role:
        raise InvalidInput(
            f"the asserted user's role {user.role!r} is not the signing role {role!r} / "
            "el rol del usuario no coincide con el rol que firma",
            code="user_role_mismatch",
        )
