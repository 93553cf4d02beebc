"""Building Events: the envelope the agent fills in (id, station, unit, time, contract version)."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from protos import CONTRACT_VERSION, events_pb2
from protos.event_ids import new_event_id

NON_CRITICAL_PAYLOADS = frozenset({"device_status"})
PAYLOAD_NAMES = tuple(f.name for f in events_pb2.Event.DESCRIPTOR.oneofs_by_name["payload"].fields)


def timestamp(at: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(at.astimezone(UTC))
    return ts


def now_ts() -> Timestamp:
    return timestamp(datetime.now(UTC))


def build_event(
    *,
    station_id: str,
    unit_id: str,
    payload_name: str,
    payload: object,
    device_id: str = "",
    case_id: str = "",
    patient_id: str = "",
    occurred_at: datetime | None = None,
) -> events_pb2.Event:
    """A new Event with a fresh UUIDv7; ``station_seq`` is left for the outbox to assign."""
    event = events_pb2.Event(
        event_id=new_event_id(),
        station_id=station_id,
        unit_id=unit_id,
        device_id=device_id,
        case_id=case_id,
        patient_id=patient_id,
        schema_version=CONTRACT_VERSION,
    )
    event.occurred_at.CopyFrom(timestamp(occurred_at or datetime.now(UTC)))
    getattr(event, payload_name).CopyFrom(payload)
    return event


def is_critical(event: events_pb2.Event) -> bool:
    """Every clinical payload is critical; device status is not."""
    return event.WhichOneof("payload") not in NON_CRITICAL_PAYLOADS
