"""Signed documents' verdicts and workflow: who signed, who must sign next, valid or not."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from hub.api.deps import Reader
from hub.api.problems import ApiError
from hub.storage.signatures import SignatureStore
from protos.document_types import DOCUMENT_TYPES

router = APIRouter(prefix="/v1", tags=["signatures"])


def signature_store(request: Request) -> SignatureStore:
    store: SignatureStore | None = getattr(request.app.state, "signatures", None)
    if store is None:
        store = request.app.state.store.signatures()  # beside the store's documents
    return store


@router.get("/document-types")
def document_types(_caller: Reader) -> list[dict[str, Any]]:
    """Document types and the roles that must sign each, in order."""
    return [
        {
            "code": t.code,
            "title": t.title,
            "signers": list(t.signers),
            "stamp": t.stamp,
            "simple_allowed": t.simple_allowed,
            "revocation_unknown": t.revocation_unknown,
        }
        for t in DOCUMENT_TYPES.values()
    ]


@router.get("/documents/{document_id}/workflow")
def workflow(document_id: str, request: Request, _caller: Reader) -> dict[str, Any]:
    """Signed by whom, awaiting whom, and each revision's validation verdict.

    ``validation`` is ``valid`` (revocation checked), ``valid_simple`` (a simple
    signature, never advanced), ``revoked``, ``expired``, ``untrusted``,
    ``revocation_unknown`` (validated again until the CA answers), ``invalid``
    (broken) or ``pending``; only valid ones count as signed. ``state`` is
    ``complete``, ``awaiting``, ``pending_validation``, ``out_of_order``,
    ``revocation_unknown`` or ``invalid`` (docs/signing.md).
    """
    result = signature_store(request).workflow(document_id)
    if result is None:
        raise ApiError(
            404,
            "document_not_found",
            "Not found / No encontrado",
            f"no signed document {document_id} / no existe el documento firmado {document_id}",
        )
    return result
