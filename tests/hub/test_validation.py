"""Validation of station bytes: each way an event is refused, with its contract reason code."""

from __future__ import annotations

import time

import pytest

from hub.ingest.validation import Rejection, decode_batch, salvage_event_id, validate_event
from hub.storage.base import Station
from protos import events_pb2, topics
from protos.reasons import Reason
from tests.hub.events import STATION, UNIT, vitals_event

TOPIC = topics.parse(topics.events(UNIT, STATION))
NOW = time.time()


def _station(station_id: str = STATION, unit_id: str = UNIT, retired: str | None = None) -> Station:
    return Station(station_id, unit_id, "2025-01-01T00:00:00.000000Z", retired, False, *[None] * 5)


STATIONS = {STATION: _station()}


def check(raw: bytes, stations: dict[str, Station] = STATIONS) -> events_pb2.Event | Rejection:
    return validate_event(raw, TOPIC, stations)


def test_valid_event_decodes() -> None:
    event = vitals_event()
    result = check(event.SerializeToString())
    assert isinstance(result, events_pb2.Event)
    assert result.event_id == event.event_id
    assert result.WhichOneof("payload") == "vital_signs"


def test_garbage_batch_is_undecodable() -> None:
    result = decode_batch(b"\xff\xff\xff\xff not protobuf")
    assert isinstance(result, Rejection)
    assert result.reason_code is Reason.UNDECODABLE
    assert result.event_id is None


def test_truncated_event_is_rejected_with_its_salvaged_id() -> None:
    event = vitals_event()
    raw = event.SerializeToString()
    result = check(raw[: len(raw) - 5])
    assert isinstance(result, Rejection)
    assert result.reason_code is Reason.UNDECODABLE
    assert result.event_id == event.event_id


def test_garbage_event_has_no_id_to_answer() -> None:
    result = check(b"\x0a\xff\xff")
    assert isinstance(result, Rejection)
    assert result.reason_code is Reason.UNDECODABLE
    assert result.event_id is None
    assert salvage_event_id(b"") is None


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "0b8c0f8e-2b5e-4f4a-9d1c-1f1e2d3c4b5a"])
def test_bad_event_id_is_rejected_and_echoed(bad_id: str) -> None:
    event = vitals_event()
    event.event_id = bad_id
    result = check(event.SerializeToString())
    assert isinstance(result, Rejection)
    assert result.reason_code is Reason.BAD_EVENT_ID
    assert result.event_id == bad_id


def test_overlong_bad_event_id_is_not_echoed() -> None:
    event = vitals_event()
    event.event_id = "x" * 200
    result = check(event.SerializeToString())
    assert isinstance(result, Rejection)
    assert (result.reason_code, result.event_id) == (Reason.BAD_EVENT_ID, None)


def test_missing_event_id_cannot_be_answered() -> None:
    event = vitals_event()
    event.event_id = ""
    result = check(event.SerializeToString())
    assert isinstance(result, Rejection)
    assert (result.reason_code, result.event_id) == (Reason.MISSING_FIELD, None)


def test_event_of_another_station_than_its_topic() -> None:
    event = vitals_event(station_id="st-02")
    result = check(event.SerializeToString(), {**STATIONS, "st-02": _station("st-02")})
    assert isinstance(result, Rejection)
    assert result.reason_code is Reason.STATION_MISMATCH
    assert result.event_id == event.event_id


def test_event_of_another_unit_than_its_topic() -> None:
    result = check(vitals_event(unit_id="u-99").SerializeToString())
    assert isinstance(result, Rejection) and result.reason_code is Reason.STATION_MISMATCH


def test_unknown_station() -> None:
    result = check(vitals_event().SerializeToString(), {})
    assert isinstance(result, Rejection) and result.reason_code is Reason.UNKNOWN_STATION


def test_retired_station() -> None:
    retired = {STATION: _station(retired="2025-02-01T00:00:00.000000Z")}
    result = check(vitals_event().SerializeToString(), retired)
    assert isinstance(result, Rejection) and result.reason_code is Reason.RETIRED_STATION


def test_newer_contract_version_is_unsupported_and_zero_means_one() -> None:
    event = vitals_event()
    event.schema_version = 2
    result = check(event.SerializeToString())
    assert isinstance(result, Rejection) and result.reason_code is Reason.UNSUPPORTED_VERSION
    event.schema_version = 0
    assert isinstance(check(event.SerializeToString()), events_pb2.Event)


def test_occurred_at_missing_or_unrepresentable_is_refused_but_a_far_time_is_not() -> None:
    event = vitals_event()
    event.ClearField("occurred_at")
    result = check(event.SerializeToString())
    assert isinstance(result, Rejection) and result.reason_code is Reason.BAD_TIMESTAMP
    beyond = vitals_event()
    beyond.occurred_at.seconds = 253_402_300_800  # year 10000
    result = check(beyond.SerializeToString())
    assert isinstance(result, Rejection) and result.reason_code is Reason.BAD_TIMESTAMP
    # A station clock two hours ahead: the fact is kept (and flagged at ingest, hub.ingest.clock).
    late = vitals_event(occurred_at=NOW + 7200)
    assert isinstance(check(late.SerializeToString()), events_pb2.Event)


def test_event_without_payload() -> None:
    event = vitals_event()
    event.ClearField("vital_signs")
    result = check(event.SerializeToString())
    assert isinstance(result, Rejection)
    assert result.reason_code is Reason.NO_PAYLOAD
    assert "no payload / el evento no trae contenido" in result.reason
