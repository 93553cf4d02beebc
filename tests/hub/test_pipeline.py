"""One ingest batch end to end without a broker: commit, then receipts naming every event."""

from __future__ import annotations

import sqlite3
import time

from hub.ingest.pipeline import Incoming, process_batch
from hub.storage.sqlite import SQLiteStore
from protos import events_pb2, topics
from protos.reasons import Reason
from tests.hub.events import STATION, UNIT, batch_bytes, state_bytes, vitals_event

EVENTS = topics.events(UNIT, STATION)
RECEIPTS = topics.receipts(UNIT, STATION)


def incoming(payload: bytes, topic: str = EVENTS, at: float | None = None) -> Incoming:
    return Incoming(topic, payload, at or time.time())


def statuses(batch: events_pb2.ReceiptBatch) -> list[tuple[str, int, str]]:
    return [(r.event_id, r.status, r.reason_code) for r in batch.receipts]


def count(store: SQLiteStore, table: str) -> int:
    conn = sqlite3.connect(store.path)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def test_batch_commits_then_answers_every_event(store: SQLiteStore) -> None:
    good, dup = vitals_event(), vitals_event()
    process_batch([incoming(batch_bytes(dup))], store, 3600)
    no_payload = vitals_event()
    no_payload.ClearField("vital_signs")
    outcome = process_batch(
        [incoming(batch_bytes(good, dup)), incoming(batch_bytes(no_payload, b"\x0a\xff"))],
        store,
        3600,
    )
    assert list(outcome.receipts) == [RECEIPTS]
    assert statuses(outcome.receipts[RECEIPTS]) == [
        (good.event_id, events_pb2.ACCEPTED, ""),
        (dup.event_id, events_pb2.DUPLICATE, ""),
        (no_payload.event_id, events_pb2.REJECTED, Reason.NO_PAYLOAD.value),
    ]
    assert (outcome.accepted, outcome.duplicate, outcome.rejected) == (1, 1, 1)
    assert count(store, "events") == 2
    assert count(store, "quarantine") == 2  # the no-payload event and the id-less garbage


def test_same_event_twice_in_one_batch_is_accepted_then_duplicate(store: SQLiteStore) -> None:
    event = vitals_event()
    outcome = process_batch(
        [incoming(batch_bytes(event)), incoming(batch_bytes(event))], store, 3600
    )
    assert [r.status for r in outcome.receipts[RECEIPTS].receipts] == [
        events_pb2.ACCEPTED,
        events_pb2.DUPLICATE,
    ]
    assert count(store, "events") == 1


def test_garbage_batch_is_quarantined_without_receipt(store: SQLiteStore) -> None:
    outcome = process_batch([incoming(b"\xff\xfe garbage")], store, 3600)
    assert outcome.receipts == {}
    entry = store.list_quarantine(10, None).items[0]
    assert (entry.station_id, entry.reason_code, entry.event_id) == (STATION, "undecodable", None)


def test_unknown_station_gets_rejected_receipts(store: SQLiteStore) -> None:
    stranger = vitals_event(station_id="st-99")
    outcome = process_batch(
        [incoming(batch_bytes(stranger), topics.events(UNIT, "st-99"))], store, 3600
    )
    assert statuses(outcome.receipts[topics.receipts(UNIT, "st-99")]) == [
        (stranger.event_id, events_pb2.REJECTED, Reason.UNKNOWN_STATION.value)
    ]
    # re-sent: still one quarantine row
    process_batch([incoming(batch_bytes(stranger), topics.events(UNIT, "st-99"))], store, 3600)
    assert count(store, "quarantine") == 1
    assert count(store, "events") == 0


def test_clock_offset_is_receive_time_minus_sent_at(store: SQLiteStore) -> None:
    event = vitals_event()
    received = time.time()
    process_batch([incoming(batch_bytes(event, sent_at=received - 2.5), at=received)], store, 3600)
    stored = store.get_event(event.event_id)
    assert stored is not None and stored.clock_offset_ms == 2500
    station = store.get_station(STATION)
    assert station is not None and station.clock_offset_ms == 2500
    assert station.event_count == 1


def test_station_state_updates_the_registry_and_unknown_is_ignored(store: SQLiteStore) -> None:
    process_batch(
        [
            incoming(state_bytes(depth=7), topics.state(UNIT, STATION)),
            incoming(state_bytes(station_id="st-77"), topics.state(UNIT, "st-77")),
        ],
        store,
        3600,
    )
    station = store.get_station(STATION)
    assert station is not None
    assert (station.online, station.outbox_depth, station.agent_version) == (True, 7, "0.1.0")
    assert store.get_station("st-77") is None
