"""Scanning over HTTP: the station's scanners, scan jobs for a case, progress (poll or SSE)."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from edge_agent.api.deps import services
from edge_agent.capabilities.scanning.service import JobSnapshot, ScanRequest, ScanService

router = APIRouter(tags=["scanning"])


def scan_service(request: Request) -> ScanService:
    return services(request).scan


class CapabilitiesOut(BaseModel):
    sources: list[str]
    modes: list[str]
    resolutions: list[int]
    max_width_mm: float
    max_height_mm: float


class ScannerOut(BaseModel):
    device_id: str
    driver: str
    state: str
    model: str
    error_code: str
    capabilities: CapabilitiesOut | None


class ScanIn(BaseModel):
    device_id: str = Field(examples=["scanner-1"])
    case_id: str
    patient_id: str
    document_type: str = Field(examples=["external_lab_result", "referral"])
    title: str = ""
    source: str = Field(default="flatbed", examples=["flatbed", "feeder", "duplex"])
    mode: str = Field(default="gray", examples=["gray", "color", "lineart"])
    resolution_dpi: int = Field(default=300, ge=25, le=1200)
    duplex: bool = Field(default=False, description="same as source=duplex")
    drop_blank_pages: bool = False
    max_pages: int = Field(default=0, ge=0, le=500)
    expected_pages: int = Field(default=0, ge=0, le=500)
    operator_id: str = ""

    def to_request(self) -> ScanRequest:
        source = "duplex" if self.duplex else self.source
        return ScanRequest(
            self.device_id,
            self.case_id,
            self.patient_id,
            self.document_type,
            self.title,
            source,
            self.mode,
            self.resolution_dpi,
            self.drop_blank_pages,
            self.max_pages,
            self.expected_pages,
            self.operator_id,
        )


class ResultOut(BaseModel):
    event_id: str
    station_seq: int
    document_id: str
    sha256: str
    size: int
    pages: int
    blank_pages_dropped: int
    expected_pages: int = Field(description="what the request said (0: not said)")
    page_count_note: str = Field(
        description="Spanish / English words when the scanner yielded another number of pages "
        "than expected_pages (blank pages included); '' otherwise"
    )


class JobOut(BaseModel):
    job_id: str
    device_id: str
    case_id: str
    state: str
    pages_scanned: int
    pages_expected: int = Field(description="0 while unknown (feeder without a page count)")
    blank_pages_dropped: int
    version: int
    result: ResultOut | None = None
    error: dict[str, str] | None = None

    @classmethod
    def of(cls, s: JobSnapshot) -> JobOut:
        result = None
        if s.result is not None:
            r = s.result
            result = ResultOut(
                event_id=r.event_id,
                station_seq=r.station_seq,
                document_id=r.document_id,
                sha256=r.sha256,
                size=r.size,
                pages=r.pages,
                blank_pages_dropped=r.blank_pages_dropped,
                expected_pages=r.expected_pages,
                page_count_note=r.page_count_note,
            )
        return cls(
            job_id=s.job_id,
            device_id=s.device_id,
            case_id=s.case_id,
            state=s.state,
            pages_scanned=s.pages_scanned,
            pages_expected=s.pages_expected,
            blank_pages_dropped=s.blank_pages_dropped,
            version=s.version,
            result=result,
            error={"code": s.error_code, "reason": s.error_reason} if s.error_code else None,
        )


@router.get("/v1/scanners", response_model=list[ScannerOut])
async def list_scanners(service: ScanService = Depends(scan_service)) -> list[ScannerOut]:
    out = []
    for s in await run_in_threadpool(service.scanners):
        caps = None
        if s.capabilities is not None:
            c = s.capabilities
            caps = CapabilitiesOut(
                sources=list(c.sources),
                modes=list(c.modes),
                resolutions=list(c.resolutions),
                max_width_mm=c.max_width_mm,
                max_height_mm=c.max_height_mm,
            )
        out.append(ScannerOut(**{**vars(s), "capabilities": caps}))
    return out


@router.post("/v1/scans", status_code=202, response_model=JobOut)
async def start_scan(
    body: ScanIn,
    request: Request,
    response: Response,
    wait: bool = False,
    service: ScanService = Depends(scan_service),
) -> JobOut:
    """Start a scan (202 + Location to follow it), or with ``?wait=true`` answer once it is
    recorded (201) or failed (the device's problem)."""
    job = await run_in_threadpool(service.start, body.to_request())
    _show_on_station(request, job, service, body)
    response.headers["Location"] = f"/v1/scans/{job.job_id}"
    if not wait:
        return JobOut.of(job.snapshot())
    await job.progress.wait_end_async(3600.0)  # on this loop: no worker thread held
    snap = job.snapshot()
    if snap.error is not None:
        raise snap.error
    response.status_code = 201
    return JobOut.of(snap)


def _cancel(service: ScanService, job_id: str) -> None:
    service.cancel(job_id)


def _show_on_station(request: Request, job: Any, service: ScanService, body: ScanIn) -> None:
    """List the scan on the agent's own page, where the user can refuse (cancel) it."""
    board = services(request).activity
    activity = board.begin(
        request.headers.get("origin"),
        "scan",
        body.case_id,
        body.patient_id,
        cancel=lambda: _cancel(service, job.job_id),
    )

    def follow() -> None:
        snap = job.wait()
        note = snap.result.page_count_note if snap.result is not None else ""
        board.end(activity, "done" if snap.error is None else "failed", note=note)

    threading.Thread(target=follow, name=f"activity-{job.job_id}", daemon=True).start()


@router.get("/v1/scans/{job_id}", response_model=JobOut)
async def get_scan(job_id: str, service: ScanService = Depends(scan_service)) -> JobOut:
    return JobOut.of(service.job(job_id).snapshot())


@router.post("/v1/scans/{job_id}/cancel", status_code=202, response_model=JobOut)
async def cancel_scan(job_id: str, service: ScanService = Depends(scan_service)) -> JobOut:
    return JobOut.of(await run_in_threadpool(service.cancel, job_id))


@router.get("/v1/scans/{job_id}/events")
async def scan_events(job_id: str, service: ScanService = Depends(scan_service)) -> Response:
    """Server-sent events: one ``progress`` event per change, ``end`` when the job ends."""
    job = service.job(job_id)

    async def stream() -> AsyncIterator[bytes]:
        seen = -1
        while True:
            # Awaited on this loop, not on a thread of the default executor (6 threads on 2
            # cores, shared with the signing upload's writes): streams cannot starve it.
            await job.progress.wait_change_async(seen, 10.0)
            snap = job.snapshot()
            if snap.version == seen and not snap.finished:
                yield b": keep-alive\n\n"
                continue
            seen = snap.version
            kind = "end" if snap.finished else "progress"
            data = json.dumps(JobOut.of(snap).model_dump(), ensure_ascii=False)
            yield f"id: {snap.version}\nevent: {kind}\ndata: {data}\n\n".encode()
            if snap.finished:
                return

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
