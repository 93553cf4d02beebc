"""Documents on cases: signed and scanned revisions by case, type and date; bodies by hash."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from hub.api.deps import Reader, StoreDep
from hub.api.problems import ApiError
from hub.bodies import BodyStore
from hub.storage.documents import DocumentRevision

router = APIRouter(prefix="/v1", tags=["documents"])

Limit = Annotated[int, Query(ge=1, le=500)]


class DocumentOut(BaseModel):
    document_id: str
    sha256: str
    case_id: str
    patient_id: str
    document_type: str
    origin: str
    media_type: str
    size: int
    event_id: str
    station_id: str
    occurred_at: str
    title: str
    pages: int | None
    signer_subject: str | None
    signer_role: str | None
    signature_level: str | None
    previous_sha256: str | None
    body_available: bool
    download_url: str

    @classmethod
    def of(cls, rev: DocumentRevision, bodies: BodyStore) -> DocumentOut:
        return cls(
            **asdict(rev),
            body_available=bodies.info(rev.sha256) is not None,
            download_url=f"/v1/bodies/{rev.sha256}",
        )


class DocumentPage(BaseModel):
    items: list[DocumentOut]
    next_cursor: str | None


def _bodies(request: Request) -> BodyStore:
    bodies: BodyStore = request.app.state.bodies
    return bodies


@router.get("/documents", response_model=DocumentPage)
def list_documents(
    request: Request,
    _caller: Reader,
    store: StoreDep,
    case_id: str | None = None,
    document_type: str | None = None,
    since: Annotated[str | None, Query(description="ISO UTC, inclusive")] = None,
    until: Annotated[str | None, Query(description="ISO UTC, exclusive")] = None,
    limit: Limit = 50,
    before: str | None = None,
) -> DocumentPage:
    """Document revisions newest first, by case, type and date range."""
    page = store.list_documents(
        case_id=case_id,
        document_type=document_type,
        since=since,
        until=until,
        limit=limit,
        before=before,
    )
    bodies = _bodies(request)
    return DocumentPage(
        items=[DocumentOut.of(r, bodies) for r in page.items], next_cursor=page.next_cursor
    )


@router.get("/cases/{case_id}/documents", response_model=DocumentPage)
def case_documents(
    case_id: str,
    request: Request,
    _caller: Reader,
    store: StoreDep,
    limit: Limit = 50,
    before: str | None = None,
) -> DocumentPage:
    page = store.list_documents(case_id=case_id, limit=limit, before=before)
    bodies = _bodies(request)
    return DocumentPage(
        items=[DocumentOut.of(r, bodies) for r in page.items], next_cursor=page.next_cursor
    )


@router.get("/documents/{document_id}", response_model=list[DocumentOut])
def document(
    document_id: str, request: Request, _caller: Reader, store: StoreDep
) -> list[DocumentOut]:
    """A document's revisions in signing order (oldest first)."""
    revisions = store.document_revisions(document_id)
    if not revisions:
        raise ApiError(
            404,
            "document_not_found",
            "Not found / No encontrado",
            f"no document {document_id} / no existe el documento {document_id}",
        )
    bodies = _bodies(request)
    return [DocumentOut.of(r, bodies) for r in revisions]
