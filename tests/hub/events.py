"""Builders of real contract bytes for hub tests: Events, EventBatches, StationStates."""

from __future__ import annotations

import time

from protos import CONTRACT_VERSION, events_pb2
from protos.event_ids import new_event_id

UNIT = "u-01"
STATION = "st-01"


def vitals_event(
    *,
    event_id: str | None = None,
    station_id: str = STATION,
    unit_id: str = UNIT,
    case_id: str = "case-1",
    patient_id: str = "1234567890",
    occurred_at: float | None = None,
    station_seq: int = 1,
    spo2: float = 97.0,
) -> events_pb2.Event:
    """A valid VitalSignsObservation event (one SpO2 reading)."""
    event = events_pb2.Event(
        event_id=event_id or new_event_id(),
        station_id=station_id,
        unit_id=unit_id,
        device_id="monitor-1",
        case_id=case_id,
        patient_id=patient_id,
        station_seq=station_seq,
        schema_version=CONTRACT_VERSION,
    )
    event.occurred_at.FromNanoseconds(int((occurred_at or time.time()) * 1e9))
    reading = event.vital_signs.readings.add(
        mdc_code=150456, mdc_refid="MDC_PULS_OXIM_SAT_O2", value=spo2, unit="%"
    )
    reading.measured_at.CopyFrom(event.occurred_at)
    event.vital_signs.mode = "spot"
    return event


def batch_bytes(*events: events_pb2.Event | bytes, sent_at: float | None = None) -> bytes:
    """An EventBatch as a station publishes it: each element one serialized Event."""
    batch = events_pb2.EventBatch(
        events=[e if isinstance(e, bytes) else e.SerializeToString() for e in events]
    )
    batch.sent_at.FromNanoseconds(int((sent_at or time.time()) * 1e9))
    return batch.SerializeToString()


def state_bytes(
    *, station_id: str = STATION, unit_id: str = UNIT, online: bool = True, depth: int = 0
) -> bytes:
    state = events_pb2.StationState(
        station_id=station_id,
        unit_id=unit_id,
        online=online,
        agent_version="0.1.0",
        outbox_depth=depth,
    )
    state.at.GetCurrentTime()
    return state.SerializeToString()
