"""POST /v1/vitals/take: read one set from a monitor and record it."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from edge_agent.api.deps import vitals_service
from edge_agent.capabilities.vitals.service import VitalsService
from protos import events_pb2

router = APIRouter(tags=["vitals"])


class TakeIn(BaseModel):
    device_id: str = Field(examples=["monitor-1"])
    case_id: str
    patient_id: str
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    # The patient's name as "family^given" (HL7 PID-5 order), to check a monitor that names
    # the patient by name; optional.
    patient_name: str = Field(default="", max_length=200)


class ReadingOut(BaseModel):
    mdc_code: int
    mdc_refid: str
    value: float
    unit: str
    measured_at: datetime
    flags: list[str]


class RejectedOut(ReadingOut):
    reason_code: str = Field(examples=["impossible_value"])
    reason: str  # English / Español
    raw_value: str = ""  # as the device sent it, when it was not a number


class TakeOut(BaseModel):
    event_id: str
    station_seq: int
    device_id: str
    monitor_model: str
    monitor_serial: str
    readings: list[ReadingOut]
    # Readings the code table refused (recorded in the same event, never dropped).
    rejected: list[RejectedOut]


def _reading(r: events_pb2.Reading) -> dict[str, object]:
    return {
        "mdc_code": r.mdc_code,
        "mdc_refid": r.mdc_refid,
        "value": r.value,
        "unit": r.unit,
        "measured_at": r.measured_at.ToDatetime(tzinfo=UTC),
        "flags": list(r.flags),
    }


@router.post("/v1/vitals/take", status_code=201, response_model=TakeOut)
async def take_vitals(
    body: TakeIn,
    service: VitalsService = Depends(vitals_service),
) -> TakeOut:
    result = await run_in_threadpool(
        service.take,
        body.device_id,
        body.case_id,
        body.patient_id,
        body.timeout_s,
        body.patient_name,
    )
    obs = result.observation
    return TakeOut(
        event_id=result.event_id,
        station_seq=result.station_seq,
        device_id=body.device_id,
        monitor_model=obs.monitor.model,
        monitor_serial=obs.monitor.serial,
        readings=[ReadingOut.model_validate(_reading(r)) for r in obs.readings],
        rejected=[
            RejectedOut.model_validate(
                _reading(x.reading)
                | {"reason_code": x.reason_code, "reason": x.reason, "raw_value": x.raw_value}
            )
            for x in obs.rejected
        ],
    )
