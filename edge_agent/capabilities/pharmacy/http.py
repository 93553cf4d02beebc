"""Pharmacy dispensing over HTTP: open a session, scan, watch (Server-Sent Events), finish."""

from __future__ import annotations

import asyncio
import json
import queue
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from google.protobuf.json_format import MessageToDict
from pydantic import BaseModel, Field

from edge_agent.api.deps import services
from edge_agent.capabilities.pharmacy.service import DispensingService, Session, Update
from edge_agent.errors import AgentError

router = APIRouter(tags=["pharmacy"])


def pharmacy_service(request: Request) -> DispensingService:
    return services(request).pharmacy


class LineIn(BaseModel):
    product_code: str = Field(min_length=1, max_length=32, examples=["010101"])
    quantity: int = Field(ge=1, le=100_000)
    duration_days: int = Field(default=0, ge=0, le=3650)


class OpenIn(BaseModel):
    case_id: str
    patient_id: str
    prescription_id: str = Field(default="", max_length=64)
    lines: list[LineIn] = Field(min_length=1, max_length=50)
    pharmacist_id: str = Field(min_length=1, max_length=64)
    scanner_device_id: str = Field(default="", max_length=64)


class ScanIn(BaseModel):
    raw: str = Field(
        min_length=1, max_length=600, description="As the scanner sent it: ']d2...', FNC1 as GS"
    )


class FinishIn(BaseModel):
    fingerprint_device_id: str = Field(min_length=1, max_length=64)


def _pb(message: Any) -> dict[str, Any]:
    return MessageToDict(message, preserving_proto_field_name=True)


def update_json(u: Update) -> dict[str, Any]:
    return {
        "session_id": u.session_id,
        "kind": u.kind,
        "item": _pb(u.item) if u.item is not None else None,
        "code": u.code,
        "warning": u.warning,
        "lines": [_pb(x) for x in u.lines],
        "differences": list(u.differences),
    }


def session_json(s: Session) -> dict[str, Any]:
    return {
        "session_id": s.session_id,
        "case_id": s.case_id,
        "patient_id": s.patient_id,
        "prescription_id": s.prescription_id,
        "pharmacist_id": s.pharmacist_id,
        "scanner_device_id": s.scanner_device_id,
        "state": s.state,
        "items": [_pb(i) for i in s.items],
        "lines": [_pb(x.pb()) for x in s.lines],
        "differences": list(s.differences()),
        "refusals": [update_json(r) for r in s.refusals],
        "event_id": s.event_id,
        "confirmation_event_id": s.confirmation_event_id,
    }


@router.post("/v1/pharmacy/sessions", status_code=201)
async def open_session(
    body: OpenIn, pharmacy: DispensingService = Depends(pharmacy_service)
) -> dict[str, Any]:
    session = await run_in_threadpool(
        pharmacy.open,
        body.case_id,
        body.patient_id,
        body.prescription_id,
        [(x.product_code, x.quantity, x.duration_days) for x in body.lines],
        body.pharmacist_id,
        body.scanner_device_id,
    )
    return session_json(session)


@router.get("/v1/pharmacy/sessions/{session_id}")
async def get_session(
    session_id: str, pharmacy: DispensingService = Depends(pharmacy_service)
) -> dict[str, Any]:
    return session_json(pharmacy.get(session_id))


@router.post("/v1/pharmacy/sessions/{session_id}/scans", status_code=201)
async def scan(
    session_id: str, body: ScanIn, pharmacy: DispensingService = Depends(pharmacy_service)
) -> dict[str, Any]:
    """A scan the page received (e.g. typed by a wedge scanner); refusals answer 409/422."""
    return update_json(await run_in_threadpool(pharmacy.scan, session_id, body.raw))


@router.post("/v1/pharmacy/sessions/{session_id}/finish", status_code=201)
async def finish(
    session_id: str, body: FinishIn, pharmacy: DispensingService = Depends(pharmacy_service)
) -> dict[str, Any]:
    result = await run_in_threadpool(pharmacy.finish, session_id, body.fingerprint_device_id)
    return {
        "event_id": result.event_id,
        "station_seq": result.station_seq,
        "confirmation_event_id": result.confirmation_event_id,
        "session": session_json(result.session),
    }


@router.post("/v1/pharmacy/sessions/{session_id}/cancel")
async def cancel(
    session_id: str, pharmacy: DispensingService = Depends(pharmacy_service)
) -> dict[str, Any]:
    return session_json(await run_in_threadpool(pharmacy.cancel, session_id))


DISCONNECT_CHECK_S = 1.0  # an idle stream looks for a gone client this often


@router.get("/v1/pharmacy/sessions/{session_id}/events")
async def watch(
    session_id: str, request: Request, pharmacy: DispensingService = Depends(pharmacy_service)
) -> StreamingResponse:
    """Server-Sent Events: ``event: item|refused|unreadable`` per scan; ``finished``/``cancelled``
    then ``end``."""
    session = pharmacy.get(session_id)
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()

    # Woken by each update (from the scanner's thread), not polling: a scan reaches the page
    # as soon as it is published, and an idle watcher costs no wake-ups.
    def wake() -> None:
        loop.call_soon_threadsafe(ready.set)

    q = session.subscribe(on_put=wake)

    async def events() -> AsyncIterator[bytes]:
        try:
            yield b": connected\n\n"
            while True:
                try:
                    u = q.get_nowait()
                except queue.Empty:
                    ready.clear()  # a put after this line sets it again (call_soon_threadsafe)
                    try:
                        await asyncio.wait_for(ready.wait(), DISCONNECT_CHECK_S)
                    except TimeoutError:
                        if await request.is_disconnected():
                            return
                    continue
                if u is None:
                    yield b"event: end\ndata: {}\n\n"
                    return
                yield f"event: {u.kind}\ndata: {json.dumps(update_json(u))}\n\n".encode()
        finally:
            session.unsubscribe(q)

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )


@router.get("/v1/pharmacy/catalogue")
async def catalogue_info(pharmacy: DispensingService = Depends(pharmacy_service)) -> dict[str, Any]:
    """The station's copy: version, items, when it was last fetched and the last failure."""
    sync = pharmacy.sync
    return {
        "version": pharmacy.catalogue.version(),
        "items": pharmacy.catalogue.count(),
        "last_fetch_at": sync.last_fetch_at.isoformat() if sync and sync.last_fetch_at else None,
        "last_error": sync.last_error if sync else "",
    }


@router.post("/v1/pharmacy/catalogue/refresh")
async def refresh_catalogue(
    pharmacy: DispensingService = Depends(pharmacy_service),
) -> dict[str, Any]:
    """Fetch the hub's catalogue now (502 with the reason if it cannot; the last copy stays)."""
    if pharmacy.sync is None:
        raise AgentError("catalogue sync is not set up / la sincronización no está configurada")
    count = await run_in_threadpool(pharmacy.sync.refresh_now)
    return {"version": pharmacy.catalogue.version(), "items": count}
