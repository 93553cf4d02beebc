"""The hub keeps a station's events in order: an event that jumps a pending gap is held back."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hub.ingest.pipeline import Incoming, process_batch
from hub.storage.sqlite import SQLiteStore
from protos import CONTRACT_VERSION, events_pb2, topics
from protos.event_ids import new_event_id

UNIT, STATION = "u1", "st-1"
TOPIC = topics.events(UNIT, STATION)


def _event(seq: int) -> events_pb2.Event:
    event = events_pb2.Event(
        event_id=new_event_id(),
        station_id=STATION,
        unit_id=UNIT,
        case_id="C1",
        patient_id="P1",
        station_seq=seq,
        schema_version=CONTRACT_VERSION,
    )
    event.occurred_at.GetCurrentTime()
    event.device_status.family = "vitals"
    return event


def _message(events: list[events_pb2.Event], oldest_pending: int) -> Incoming:
    batch = events_pb2.EventBatch(
        events=[e.SerializeToString() for e in events], oldest_pending_seq=oldest_pending
    )
    batch.sent_at.GetCurrentTime()
    return Incoming(TOPIC, batch.SerializeToString(), time.time())


def _store(tmp_path: Path) -> SQLiteStore:
    store = SQLiteStore(tmp_path / "hub.sqlite3")
    store.migrate()
    store.register_station(STATION, UNIT, "2026-01-01T00:00:00Z")
    return store


def _stored_seqs(store: SQLiteStore) -> list[int]:
    con = store._conn()
    return [r[0] for r in con.execute("SELECT station_seq FROM events ORDER BY ingest_seq")]


def test_a_batch_after_a_lost_one_is_held_until_the_gap_is_resent(tmp_path: Path) -> None:
    store = _store(tmp_path)
    e = [_event(seq) for seq in range(1, 7)]
    first = process_batch([_message(e[0:2], 1)], store, 3600)
    assert first.accepted == 2
    # Batch 3..4 was lost with the broker; 5..6 arrives while 3 is still pending.
    held = process_batch([_message(e[4:6], 3)], store, 3600)
    assert (held.accepted, held.held) == (0, 2)
    assert not any(r.receipts for r in held.receipts.values())
    # The station re-sends the oldest first: everything lands in order.
    resent = process_batch([_message(e[2:4], 3), _message(e[4:6], 3)], store, 3600)
    assert (resent.accepted, resent.held) == (4, 0)
    assert _stored_seqs(store) == [1, 2, 3, 4, 5, 6]


def test_receipted_positions_below_oldest_pending_open_the_gate(tmp_path: Path) -> None:
    store = _store(tmp_path)
    # Positions 1..9 were receipted (e.g. rejected into quarantine): no gap to wait for.
    outcome = process_batch([_message([_event(10)], 10)], store, 3600)
    assert (outcome.accepted, outcome.held) == (1, 0)


def test_a_station_that_does_not_say_its_oldest_pending_is_not_gated(tmp_path: Path) -> None:
    store = _store(tmp_path)
    outcome = process_batch([_message([_event(50)], 0)], store, 3600)
    assert (outcome.accepted, outcome.held) == (1, 0)


def test_held_events_are_retried_in_the_form_checked_at_arrival(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(tmp_path)
    e = [_event(seq) for seq in range(1, 6)]
    process_batch([_message(e[0:1], 1)], store, 3600)
    mixed = _message([e[1], e[3], e[4]], 2)  # 2 goes in; 4 and 5 wait for 3
    held = process_batch([mixed], store, 3600)
    assert (held.accepted, held.held) == (1, 2)
    (again,) = held.held_messages
    assert again.retried and again.qos == 0 and again.checked is not None
    assert [ev.station_seq for _, ev in again.checked.events] == [4, 5]
    # Its bytes are the held events alone (what a failed commit would split or quarantine).
    assert list(events_pb2.EventBatch.FromString(again.payload).events) == [
        ev.SerializeToString() for ev in e[3:5]
    ]

    def no_second_check(*_args: object) -> object:
        raise AssertionError("a held event was decoded and checked again")

    monkeypatch.setattr("hub.ingest.pipeline.validate_event", no_second_check)
    still = process_batch([again], store, 3600)  # the gap is still open: held again, as is
    assert (still.accepted, still.held) == (0, 2) and still.held_messages == [again]
    monkeypatch.undo()
    done = process_batch([_message(e[2:3], 2), *still.held_messages], store, 3600)
    assert (done.accepted, done.held) == (3, 0)
    assert _stored_seqs(store) == [1, 2, 3, 4, 5]
