"""SQLite store: migrations, dedup, unmatched events joining their case later, pagination."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hub.ingest.timefmt import iso_utc
from hub.storage import schema
from hub.storage.base import Case, Conflict, EventRow, QuarantineRow
from hub.storage.sqlite import SQLiteStore
from protos import events_pb2
from tests.hub.events import STATION, UNIT, vitals_event


def row(event: events_pb2.Event) -> EventRow:
    return EventRow(
        event_id=event.event_id,
        station_id=event.station_id,
        unit_id=event.unit_id,
        device_id=event.device_id,
        case_id=event.case_id,
        patient_id=event.patient_id,
        kind=event.WhichOneof("payload") or "",
        occurred_at=iso_utc(event.occurred_at.seconds, event.occurred_at.nanos),
        station_seq=event.station_seq,
        received_at="2025-01-01T00:00:00.000000Z",
        clock_offset_ms=0,
        raw=event.SerializeToString(),
    )


def test_migrations_are_idempotent_on_restart(tmp_path: Path) -> None:
    path = tmp_path / "hub.sqlite3"
    first = SQLiteStore(path)
    latest = max(v for v, _ in schema.MIGRATIONS)
    assert first.migrate() == latest
    first.register_station(STATION, UNIT, "2025-01-01T00:00:00.000000Z")
    first.close()
    again = SQLiteStore(path)
    assert again.migrate() == latest
    assert [s.station_id for s in again.list_stations()] == [STATION]
    again.close()
    conn = sqlite3.connect(path)
    versions = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    assert versions == sorted((v,) for v, _ in schema.MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()


def test_duplicate_event_is_stored_once_and_reported(store: SQLiteStore) -> None:
    a, b = vitals_event(), vitals_event()
    assert store.commit_ingest([row(a), row(b), row(a)], [], []) == [True, True, False]
    assert store.commit_ingest([row(b)], [], []) == [False]
    conn = sqlite3.connect(store.path)
    assert conn.execute("SELECT count(*) FROM events").fetchone() == (2,)


def test_rejected_resend_is_quarantined_once(store: SQLiteStore) -> None:
    q = QuarantineRow("2025-01-01T00:00:00Z", "t", STATION, "some-id", "bad_event_id", "r", b"x")
    store.commit_ingest([], [q], [])
    store.commit_ingest([], [q], [])
    anonymous = QuarantineRow("2025-01-01T00:00:00Z", "t", STATION, None, "undecodable", "r", b"")
    store.commit_ingest([], [anonymous, anonymous], [])
    assert [e.event_id for e in store.list_quarantine(10, None).items] == [None, None, "some-id"]


def test_unmatched_event_joins_its_case_when_opened(store: SQLiteStore) -> None:
    event = vitals_event(case_id="case-late")
    store.commit_ingest([row(event), row(vitals_event(case_id=""))], [], [])
    assert [e.event_id for e in store.unmatched_events(10, None).items] == [event.event_id]
    case = Case("case-late", "1234567890", UNIT, "2025-01-01T00:00:00Z", None, "medi")
    assert store.open_case(case) == (case, True)
    assert store.unmatched_events(10, None).items == []
    timeline = store.case_timeline("case-late", 10, None).items
    assert [e.event_id for e in timeline] == [event.event_id]
    assert timeline[0].payload["readings"][0]["mdc_code"] == 150456


def test_reopening_a_case_is_idempotent_unless_it_conflicts(store: SQLiteStore) -> None:
    case = Case("c-9", "111", UNIT, "2025-01-01T00:00:00Z", None, "medi")
    store.open_case(case)
    assert store.open_case(case) == (case, False)
    with pytest.raises(Conflict):
        store.open_case(Case("c-9", "222", UNIT, "2025-01-02T00:00:00Z", None, "medi"))


def test_timeline_pages_newest_first(store: SQLiteStore) -> None:
    events = [vitals_event(case_id="c-1", occurred_at=1_750_000_000 + i) for i in range(5)]
    store.commit_ingest([row(e) for e in events], [], [])
    newest_first = [e.event_id for e in reversed(events)]
    first = store.case_timeline("c-1", 2, None)
    second = store.case_timeline("c-1", 2, first.next_cursor)
    third = store.case_timeline("c-1", 2, second.next_cursor)
    got = [e.event_id for p in (first, second, third) for e in p.items]
    assert got == newest_first
    assert third.next_cursor is None


def test_rendering_stops_within_a_slice_when_asked_and_keeps_what_it_rendered(
    store: SQLiteStore,
) -> None:
    """The ingest writer renders while idle and asks it to stop once a message waits: it
    writes what it rendered (one transaction) and returns, and the rest comes next time."""
    store.commit_ingest([row(vitals_event(station_seq=i + 1)) for i in range(60)], [], [])
    asked = []

    def stop() -> bool:
        asked.append(True)
        return True

    first = store.render_pending_payloads(500, stop=stop)
    assert 0 < first < 60 and len(asked) == 1
    assert store.render_pending_payloads(500, stop=lambda: False) == 60 - first
    assert store.render_pending_payloads(500) == 0
    conn = sqlite3.connect(store.path)
    assert conn.execute("SELECT count(*) FROM events WHERE payload_json IS NULL").fetchone() == (0,)
    # The derived write left the connection durable for the next ingest commit.
    assert store._conn().execute("PRAGMA synchronous").fetchone() == (2,)


def test_pending_payload_json_is_rendered_as_protobuf_json(store: SQLiteStore) -> None:
    event = vitals_event(spo2=95.5)
    store.commit_ingest([row(event)], [], [])
    assert store.render_pending_payloads(100) == 1
    assert store.render_pending_payloads(100) == 0
    conn = sqlite3.connect(store.path)
    (payload_json,) = conn.execute("SELECT payload_json FROM events").fetchone()
    assert '"mdc_refid":"MDC_PULS_OXIM_SAT_O2"' in payload_json
    assert '"value":95.5' in payload_json
