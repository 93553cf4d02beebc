"""POST /v1/events: record a fact given as protobuf JSON under its payload name."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends
from google.protobuf import json_format
from pydantic import BaseModel, Field

from edge_agent.api.deps import record_service
from edge_agent.errors import InvalidInput
from edge_agent.events import PAYLOAD_NAMES
from edge_agent.record import RecordService
from protos import events_pb2

router = APIRouter(tags=["events"])


class RecordIn(BaseModel):
    case_id: str = Field(default="", examples=["C-2025-000123"])
    patient_id: str = Field(default="", examples=["1234567890101"])
    device_id: str = Field(default="", examples=["monitor-1"])
    occurred_at: datetime | None = Field(default=None, description="UTC; now if omitted.")
    payload: dict[str, Any] = Field(
        description=f"Exactly one of {', '.join(PAYLOAD_NAMES)}, as protobuf JSON.",
        examples=[
            {
                "vital_signs": {
                    "mode": "spot",
                    "readings": [{"mdc_code": 150456, "value": 97, "unit": "%"}],
                }
            }
        ],
    )


class RecordOut(BaseModel):
    event_id: str
    station_seq: int


def parse_payload(payload: dict[str, Any]) -> tuple[str, Any]:
    """(payload name, message) from ``{"<name>": {...protobuf JSON...}}``; raises InvalidInput."""
    if len(payload) != 1:
        raise InvalidInput(
            f"payload must have exactly one key, one of {', '.join(PAYLOAD_NAMES)}; "
            f"got {sorted(payload) or 'none'} / el contenido debe tener exactamente una clave",
            code="invalid_payload",
        )
    ((name, body),) = payload.items()
    if name not in PAYLOAD_NAMES:
        raise InvalidInput(
            f"unknown payload {name!r}; expected one of {', '.join(PAYLOAD_NAMES)} / "
            f"tipo de contenido desconocido {name!r}",
            code="invalid_payload",
        )
    message = getattr(events_pb2.Event(), name).__class__()
    try:
        json_format.ParseDict(body, message)
    except json_format.ParseError as exc:
        raise InvalidInput(
            f"payload.{name}: {exc} / payload.{name} no es válido", code="invalid_payload"
        ) from exc
    return name, message


@router.post("/v1/events", status_code=201, response_model=RecordOut)
async def record_event(
    body: RecordIn,
    service: RecordService = Depends(record_service),
) -> RecordOut:
    name, message = parse_payload(body.payload)
    event_id, seq = await service.record_async(
        payload_name=name,
        payload=message,
        device_id=body.device_id,
        case_id=body.case_id,
        patient_id=body.patient_id,
        occurred_at=body.occurred_at,
    )
    return RecordOut(event_id=event_id, station_seq=seq)
