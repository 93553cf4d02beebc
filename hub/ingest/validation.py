"""Pure validation of what stations publish: bytes and topic in, an Event or a Rejection out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf.message import DecodeError

from hub.ingest.limits import IngestLimits, check_message, timestamp_problem
from hub.storage.base import Station
from protos import CONTRACT_VERSION, events_pb2
from protos.event_ids import is_uuid7
from protos.reasons import DESCRIPTIONS, Reason
from protos.topics import StationTopic


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why bytes will never be stored as an event. `event_id` is set when it could be read,
    and only then can the station be told (a REJECTED receipt)."""

    reason_code: Reason
    reason: str
    event_id: str | None = None


def reject(code: Reason, detail: str = "", event_id: str | None = None) -> Rejection:
    text = DESCRIPTIONS[code]
    return Rejection(code, f"{text} ({detail})" if detail else text, event_id)


def decode_batch(payload: bytes) -> events_pb2.EventBatch | Rejection:
    try:
        return events_pb2.EventBatch.FromString(payload)
    except (DecodeError, RuntimeError, ValueError) as exc:
        return reject(Reason.UNDECODABLE, f"EventBatch: {exc}")


def salvage_event_id(raw: bytes) -> str | None:
    """The event_id of bytes that do not decode as a whole, if field 1 is readable first."""
    if len(raw) < 2 or raw[0] != 0x0A or raw[1] >= 0x80:  # field 1, length-delimited, short
        return None
    text = raw[2 : 2 + raw[1]]
    if len(text) != raw[1]:
        return None
    try:
        candidate = text.decode("ascii")
    except UnicodeDecodeError:
        return None
    return candidate if is_uuid7(candidate) else None


def validate_event(
    raw: bytes,
    topic: StationTopic,
    stations: Mapping[str, Station],
    limits: IngestLimits = IngestLimits(),
) -> events_pb2.Event | Rejection:
    """Decode one serialized Event and check it against its topic, the station registry and
    the ranges of every field (hub.ingest.limits); over `limits.max_event_bytes` it is
    refused before it is decoded."""
    if len(raw) > limits.max_event_bytes:
        return reject(
            Reason.TOO_LARGE,
            f"event of {len(raw)} bytes, at most {limits.max_event_bytes}",
            salvage_event_id(raw),
        )
    try:
        event = events_pb2.Event.FromString(raw)
    except (DecodeError, RuntimeError, ValueError) as exc:
        return reject(Reason.UNDECODABLE, f"Event: {exc}", salvage_event_id(raw))
    event_id = event.event_id
    if not event_id:
        return reject(Reason.MISSING_FIELD, "event_id")
    if not is_uuid7(event_id):
        return reject(Reason.BAD_EVENT_ID, repr(event_id)[:80], _receipt_id(event_id))
    if not event.station_id or not event.unit_id:
        return reject(Reason.MISSING_FIELD, "station_id/unit_id", event_id)
    if event.station_id != topic.station_id or event.unit_id != topic.unit_id:
        return reject(
            Reason.STATION_MISMATCH,
            f"{event.unit_id}/{event.station_id} != {topic.unit_id}/{topic.station_id}",
            event_id,
        )
    station = stations.get(topic.station_id)
    if station is None:
        return reject(Reason.UNKNOWN_STATION, topic.station_id, event_id)
    if station.unit_id != topic.unit_id:
        return reject(Reason.STATION_MISMATCH, f"registered in unit {station.unit_id}", event_id)
    if not event.HasField("occurred_at"):
        return reject(Reason.BAD_TIMESTAMP, "occurred_at", event_id)
    occurred = event.occurred_at
    # A time far from the hub clock is flagged at ingest (hub.ingest.clock), not refused: an
    # acknowledged clinical fact never vanishes into quarantine over a station clock. Only a
    # time no export can write (hub.ingest.limits) is refused.
    bad_time = timestamp_problem(occurred.seconds, occurred.nanos)
    if bad_time:
        return reject(Reason.BAD_TIMESTAMP, bad_time, event_id)
    if station.retired_at is not None and not _before_retirement(event, station.retired_at):
        # The backlog of a retired station is accepted up to the retirement (provisioning).
        return reject(Reason.RETIRED_STATION, topic.station_id, event_id)
    if event.schema_version > CONTRACT_VERSION:  # 0: written before the field existed = 1
        return reject(Reason.UNSUPPORTED_VERSION, str(event.schema_version), event_id)
    kind = event.WhichOneof("payload")
    if kind is None:
        return reject(Reason.NO_PAYLOAD, "", event_id)
    if kind == "vital_signs" and event.case_id and not event.patient_id:
        # Readings of a case are exported (FHIR, HL7) under their patient: never unnamed.
        return reject(Reason.MISSING_FIELD, "patient_id of a case's vital signs", event_id)
    out_of_range = check_message(event, limits)
    if out_of_range:
        return reject(Reason.OUT_OF_RANGE, out_of_range[:300], event_id)
    return event


def _receipt_id(event_id: str) -> str | None:
    """A malformed id is still echoed in a receipt (the station knows it by that text),
    unless it is too long to be anyone's id."""
    return event_id if len(event_id) <= 64 else None


def _before_retirement(event: events_pb2.Event, retired_at: str) -> bool:
    if not event.HasField("occurred_at"):
        return False
    occurred = event.occurred_at.ToDatetime(tzinfo=UTC)
    return occurred <= datetime.fromisoformat(retired_at)
