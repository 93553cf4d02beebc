"""Scanned documents: by case, type, station and date, with scan details and body availability."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from hub.api.deps import Reader
from hub.bodies import BodyStore
from hub.storage.scans import PageCount, ScanRow, ScanStore
from protos.scan_types import SCAN_DOCUMENT_TYPES

router = APIRouter(prefix="/v1", tags=["documents"])


def scan_store(request: Request) -> ScanStore:
    store: ScanStore | None = getattr(request.app.state, "scans", None)
    if store is None:
        store = request.app.state.store.scans()  # the hub store's scans repository
    return store


class ScanOut(BaseModel):
    document_id: str
    sha256: str
    case_id: str
    patient_id: str
    document_type: str
    document_type_label: str
    media_type: str
    size: int
    event_id: str
    station_id: str
    occurred_at: str
    title: str
    pages: int | None
    resolution_dpi: int
    mode: str
    source: str
    blank_pages_dropped: int
    scanner_model: str
    scanner_vendor: str
    scanner_serial: str
    scanner_driver: str
    expected_pages: int = Field(description="what the station's request said (0: not said)")
    page_count_differs: bool = Field(
        description="the scanner yielded another number of pages (blank ones included) than "
        "expected_pages"
    )
    page_count_note: str = Field(description="e.g. '3 de 5 páginas esperadas / 3 of 5 ...'")
    body_available: bool
    download_url: str

    @classmethod
    def of(cls, row: ScanRow, bodies: BodyStore) -> ScanOut:
        count = PageCount(row.pages or 0, row.blank_pages_dropped, row.expected_pages)
        return cls(
            **asdict(row),
            page_count_differs=count.differs,
            page_count_note=count.note(),
            document_type_label=SCAN_DOCUMENT_TYPES.get(row.document_type, row.document_type),
            body_available=bodies.available(row.sha256),
            download_url=f"/v1/bodies/{row.sha256}",
        )


class ScanPage(BaseModel):
    items: list[ScanOut]
    next_cursor: str | None


@router.get("/scan-types")
def scan_types(_caller: Reader) -> dict[str, str]:
    """Codes of scanned document types and their labels (English / Español)."""
    return dict(SCAN_DOCUMENT_TYPES)


@router.get("/scans", response_model=ScanPage)
def list_scans(
    request: Request,
    _caller: Reader,
    case_id: str | None = None,
    document_type: str | None = None,
    station_id: str | None = None,
    since: Annotated[str | None, Query(description="ISO UTC, inclusive")] = None,
    until: Annotated[str | None, Query(description="ISO UTC, exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: str | None = None,
) -> ScanPage:
    """Scanned documents newest first. ``body_available``: the PDF is at the hub, verified
    against its SHA-256 (the body store keeps only bytes that hash to their name)."""
    page = scan_store(request).list_scans(
        case_id=case_id,
        document_type=document_type,
        station_id=station_id,
        since=since,
        until=until,
        limit=limit,
        before=before,
    )
    bodies: BodyStore = request.app.state.bodies
    return ScanPage(items=[ScanOut.of(r, bodies) for r in page.items], next_cursor=page.next_cursor)
