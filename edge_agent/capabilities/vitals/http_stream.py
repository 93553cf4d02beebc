"""Telemedicine sessions over HTTP: start, stop, read, and watch live (Server-Sent Events)."""

from __future__ import annotations

import asyncio
import json
import queue
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from edge_agent.api.deps import services
from edge_agent.capabilities.vitals.streaming import LiveReading, Session, StreamService
from protos.vitals_codes import BY_MDC

router = APIRouter(tags=["vitals"])


def stream_service(request: Request) -> StreamService:
    return services(request).streams


class SessionIn(BaseModel):
    device_id: str = Field(examples=["monitor-1"])
    case_id: str
    patient_id: str
    operator_id: str = ""
    patient_name: str = Field(default="", max_length=200)  # "family^given", optional


class SessionOut(BaseModel):
    session_id: str
    device_id: str
    case_id: str
    patient_id: str
    started_at: datetime
    stopped_at: datetime | None
    active: bool
    batches: int
    readings: int
    rejected: int
    interruptions: int

    @classmethod
    def of(cls, s: Session) -> SessionOut:
        return cls(
            session_id=s.session_id,
            device_id=s.device_id,
            case_id=s.case_id,
            patient_id=s.patient_id,
            started_at=s.started_at,
            stopped_at=s.stopped_at,
            active=s.active,
            batches=s.batches,
            readings=s.readings,
            rejected=s.rejected,
            interruptions=s.interruptions,
        )


def live_json(item: LiveReading) -> dict[str, object]:
    r = item.reading
    parameter = BY_MDC.get(r.mdc_code)
    out: dict[str, object] = {
        "session_id": item.session_id,
        "case_id": item.case_id,
        "mdc_code": r.mdc_code,
        "mdc_refid": r.mdc_refid,
        "parameter": parameter.key if parameter else None,
        "loinc": parameter.loinc if parameter and item.rejected is None else None,
        "value": r.value,
        "unit": r.unit,
        "measured_at": r.measured_at.ToDatetime(tzinfo=UTC).isoformat(),
        "flags": list(r.flags),
    }
    if item.rejected is not None:
        out["rejected"] = {"code": item.rejected.reason_code, "reason": item.rejected.reason}
    return out


@router.post("/v1/vitals/sessions", status_code=201, response_model=SessionOut)
async def start_session(
    body: SessionIn, streams: StreamService = Depends(stream_service)
) -> SessionOut:
    session = await run_in_threadpool(
        streams.start,
        body.device_id,
        body.case_id,
        body.patient_id,
        body.operator_id,
        body.patient_name,
    )
    return SessionOut.of(session)


@router.get("/v1/vitals/sessions", response_model=list[SessionOut])
async def list_sessions(streams: StreamService = Depends(stream_service)) -> list[SessionOut]:
    return [SessionOut.of(s) for s in streams.list()]


@router.get("/v1/vitals/sessions/{session_id}", response_model=SessionOut)
async def get_session(
    session_id: str, streams: StreamService = Depends(stream_service)
) -> SessionOut:
    return SessionOut.of(streams.get(session_id))


@router.post("/v1/vitals/sessions/{session_id}/stop", response_model=SessionOut)
async def stop_session(
    session_id: str, streams: StreamService = Depends(stream_service)
) -> SessionOut:
    return SessionOut.of(await run_in_threadpool(streams.stop, session_id))


@router.get("/v1/vitals/sessions/{session_id}/live")
async def watch_session(
    session_id: str, request: Request, streams: StreamService = Depends(stream_service)
) -> StreamingResponse:
    """Server-Sent Events: ``event: reading`` per numeric, ``event: end`` when the session stops."""
    session = streams.get(session_id)
    q = session.subscribe()

    async def events() -> AsyncIterator[bytes]:
        try:
            yield b": connected\n\n"
            while True:
                try:
                    item = q.get_nowait()
                except queue.Empty:
                    if await request.is_disconnected():
                        return
                    await asyncio.sleep(0.02)
                    continue
                if item is None:
                    yield b"event: end\ndata: {}\n\n"
                    return
                yield f"event: reading\ndata: {json.dumps(live_json(item))}\n\n".encode()
        finally:
            session.unsubscribe(q)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
