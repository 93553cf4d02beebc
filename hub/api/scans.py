"""Scanned documents: by case, type, station and date, with scan details and body availability."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from hub.api.deps import Reader
from hub.bodies import BodyStore
from hub.storage.scans import ScanRow, ScanStore
from protos.scan_types import SCAN_DOCUMENT_TYPES

router = APIRouter(prefix="/v1", tags=["documents"])


def scan_store(request: Request) -> ScanStore:
    store = getattr(request.app.state, "scans", None)
    if store is None:
        store = request.app.state.store.scans()  # the hub store's scans repository
    return store  # type: ignore[no-any-return]


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
    body_available: bool
    download_url: str

    @classmethod
    def of(cls, row: ScanRow, bodies: BodyStore) -> ScanOut:
        return cls(
            **asdict(row),
            document_type_label=SCAN_DOCUMENT_TYPES.get(row.document_type, row.document_type),
            body_available=bodies.info(row.sha256) is not None,
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
