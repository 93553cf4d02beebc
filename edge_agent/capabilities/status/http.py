"""GET /v1/status: station, devices, outbox and link."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from edge_agent.api.deps import status_service
from edge_agent.capabilities.status.service import StatusService

router = APIRouter(tags=["status"])


class DeviceOut(BaseModel):
    device_id: str
    family: str
    driver: str
    state: str
    model: str
    serial: str
    error_code: str
    detail: str


class OutboxOut(BaseModel):
    depth: int
    bytes: int
    limit_bytes: int
    hard_limit_bytes: int
    oldest_age_ms: int


class LinkOut(BaseModel):
    connected: bool
    broker: str
    in_flight: int
    last_receipt_at: datetime | None
    reconnects: int


class StatusOut(BaseModel):
    station_id: str
    unit_id: str
    version: str
    devices: list[DeviceOut]
    outbox: OutboxOut
    link: LinkOut
    clock_offset_ms: int | None = None
    warnings: list[str] = []


@router.get("/v1/status", response_model=StatusOut)
def get_status(service: StatusService = Depends(status_service)) -> StatusOut:
    s = service.status()
    return StatusOut(
        station_id=s.station_id,
        unit_id=s.unit_id,
        version=s.version,
        devices=[
            DeviceOut(
                device_id=d.device_id,
                family=d.family,
                driver=d.driver,
                state=d.state_name,
                model=d.identity.model,
                serial=d.identity.serial,
                error_code=d.error_code,
                detail=d.detail,
            )
            for d in s.devices
        ],
        outbox=OutboxOut(**vars(s.outbox)),
        link=LinkOut(**vars(s.link)),
        clock_offset_ms=s.clock_offset_ms,
        warnings=s.warnings,
    )
