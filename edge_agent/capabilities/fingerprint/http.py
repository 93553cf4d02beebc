"""POST /v1/fingerprint/enroll, /verify, /cancel and GET /readers: the fingerprint use cases."""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from edge_agent.api.deps import services
from edge_agent.capabilities.fingerprint.service import FingerprintService
from protos import events_pb2

router = APIRouter(prefix="/v1/fingerprint", tags=["fingerprint"])


def fingerprint_service(request: Request) -> FingerprintService:
    return services(request).fingerprint


class EnrollIn(BaseModel):
    device_id: str = Field(examples=["reader-1"])
    case_id: str
    patient_id: str
    finger: str = Field(examples=["RIGHT_INDEX"], description="Finger enum name")
    operator_id: str = ""
    impressions: int = Field(default=0, ge=0, le=10, description="0: the station's setting")
    timeout_s: float = Field(default=20.0, gt=0, le=120)


class EnrollOut(BaseModel):
    event_id: str
    station_seq: int
    template_sha256: str
    impression_quality: list[int]


class VerifyIn(BaseModel):
    device_id: str
    case_id: str
    patient_id: str
    step: str = Field(examples=["admission", "pharmacy_dispensing"])
    operator_id: str = ""
    timeout_s: float = Field(default=20.0, gt=0, le=120)


class VerifyOut(BaseModel):
    event_id: str
    station_seq: int
    decision: str = Field(description="MATCH or NO_MATCH")
    match: bool
    score: float
    threshold: float
    quality: int
    finger: str
    templates_source: str = Field(description="hub or cache")


class CancelIn(BaseModel):
    device_id: str


class ReaderOut(BaseModel):
    usb_id: str
    vendor: str
    model: str
    driver: str
    supported: bool


def _finger(name: str) -> int:
    try:
        return events_pb2.Finger.Value(name.upper())
    except ValueError as exc:
        from edge_agent.errors import InvalidInput

        raise InvalidInput(
            f"unknown finger {name!r} / dedo desconocido", code="invalid_finger"
        ) from exc


def _on_station(request: Request, fp: FingerprintService, action: str, body: Any) -> Any:
    """Show the capture on the agent's own page, where the user can refuse (cancel) it."""
    board = services(request).activity

    def cancel() -> None:
        with contextlib.suppress(Exception):  # the reader may be gone; refusing must not fail
            fp.cancel(body.device_id)

    return board.track(
        request.headers.get("origin"), action, body.case_id, body.patient_id, cancel=cancel
    )


def _tracked(request: Request, fp: FingerprintService, action: str, body: Any, call: Any) -> Any:
    with _on_station(request, fp, action, body):
        return call()


@router.post("/enroll", status_code=201, response_model=EnrollOut)
async def enroll(
    body: EnrollIn, request: Request, fp: FingerprintService = Depends(fingerprint_service)
) -> EnrollOut:
    r = await run_in_threadpool(
        _tracked,
        request,
        fp,
        "fingerprint.enroll",
        body,
        lambda: fp.enroll(
            body.device_id,
            body.case_id,
            body.patient_id,
            _finger(body.finger),
            body.operator_id,
            body.impressions,
            body.timeout_s,
        ),
    )
    return EnrollOut(
        event_id=r.event_id,
        station_seq=r.station_seq,
        template_sha256=r.template_sha256.hex(),
        impression_quality=r.impression_quality,
    )


@router.post("/verify", status_code=201, response_model=VerifyOut)
async def verify(
    body: VerifyIn, request: Request, fp: FingerprintService = Depends(fingerprint_service)
) -> VerifyOut:
    r = await run_in_threadpool(
        _tracked,
        request,
        fp,
        "fingerprint.verify",
        body,
        lambda: fp.verify(
            body.device_id,
            body.case_id,
            body.patient_id,
            body.step,
            body.operator_id,
            body.timeout_s,
        ),
    )
    c = r.confirmation
    return VerifyOut(
        event_id=r.event_id,
        station_seq=r.station_seq,
        decision=events_pb2.ConfirmationDecision.Name(c.decision),
        match=c.decision == events_pb2.MATCH,
        score=c.score,
        threshold=c.threshold,
        quality=c.quality,
        finger=events_pb2.Finger.Name(c.finger),
        templates_source=r.templates_source,
    )


@router.post("/cancel", status_code=204)
async def cancel(body: CancelIn, fp: FingerprintService = Depends(fingerprint_service)) -> None:
    fp.cancel(body.device_id)


@router.get("/readers", response_model=list[ReaderOut])
async def readers(fp: FingerprintService = Depends(fingerprint_service)) -> list[ReaderOut]:
    found = await run_in_threadpool(fp.readers)
    return [
        ReaderOut(
            usb_id=r.usb_id, vendor=r.vendor, model=r.model, driver=r.driver, supported=r.supported
        )
        for r in found
    ]
