"""Documents on cases: signed and scanned revisions by case, type and date; bodies by hash."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from hub.api.deps import Reader, StoreDep
from hub.api.problems import ApiError
from hub.api.scans import scan_store
from hub.api.signatures import signature_store
from hub.bodies import BodyStore
from hub.storage.documents import DocumentRevision
from hub.storage.scans import PageCount
from hub.storage.signatures import StoredVerdict, shown_validation

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
    validation: str = Field(
        description="valid (advanced signature verified, revocation checked), valid_simple (a "
        "SIMPLE signature verified: never advanced), revoked, expired (not valid at signing "
        "time), untrusted (intact, no trusted chain or time), revocation_unknown (the CA did not "
        "answer; validated again later), invalid (broken: kept, flagged), pending, not_signed "
        "(a scan)"
    )
    validation_code: str | None = Field(description="the verdict's code, e.g. broken, revoked")
    expected_pages: int | None = Field(
        default=None, description="a scan: what the station's request said (0: not said)"
    )
    page_count_note: str = Field(
        default="",
        description="a scan that yielded another number of pages than expected, in words: "
        "'3 de 5 páginas esperadas... / 3 of 5 expected pages...'; '' otherwise",
    )

    @classmethod
    def of(
        cls,
        rev: DocumentRevision,
        bodies: BodyStore,
        verdicts: dict[str, StoredVerdict],
        count: PageCount | None = None,
    ) -> DocumentOut:
        verdict = verdicts.get(rev.event_id)
        return cls(
            **asdict(rev),
            body_available=bodies.available(rev.sha256),
            download_url=f"/v1/bodies/{rev.sha256}",
            validation=shown_validation(rev.origin, rev.signature_level, verdict),
            validation_code=verdict.code if verdict is not None else None,
            expected_pages=count.expected_pages if count else None,
            page_count_note=count.note() if count else "",
        )


def _outs(request: Request, revisions: list[DocumentRevision]) -> list[DocumentOut]:
    """Revisions with their bodies' presence and their signature verdicts joined."""
    bodies = _bodies(request)
    signed = [(r.event_id, r.sha256, r.signature_level) for r in revisions if r.origin == "signed"]
    verdicts = signature_store(request).revision_verdicts(signed) if signed else {}
    scanned = [r.event_id for r in revisions if r.origin == "scanned"]
    counts = scan_store(request).page_counts(scanned) if scanned else {}
    return [DocumentOut.of(r, bodies, verdicts, counts.get(r.event_id)) for r in revisions]


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
    origin: Annotated[str | None, Query(pattern="^(signed|scanned)$")] = None,
) -> DocumentPage:
    """Document revisions newest first, by case, type, origin (signed|scanned) and date."""
    page = store.list_documents(
        case_id=case_id,
        document_type=document_type,
        since=since,
        until=until,
        limit=limit,
        before=before,
        origin=origin,
    )
    return DocumentPage(items=_outs(request, page.items), next_cursor=page.next_cursor)


@router.get("/cases/{case_id}/documents", response_model=DocumentPage)
def case_documents(
    case_id: str,
    request: Request,
    _caller: Reader,
    store: StoreDep,
    limit: Limit = 50,
    before: str | None = None,
    origin: Annotated[str | None, Query(pattern="^(signed|scanned)$")] = None,
) -> DocumentPage:
    page = store.list_documents(case_id=case_id, limit=limit, before=before, origin=origin)
    return DocumentPage(items=_outs(request, page.items), next_cursor=page.next_cursor)


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
    return _outs(request, revisions)
