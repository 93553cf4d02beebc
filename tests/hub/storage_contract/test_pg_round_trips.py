"""PostgreSQL's ingest commit in round trips: one statement for events, vital sets, readings
and stations (`hub.storage.postgres._COMMIT_SQL`), its count as the libpq trace shows it, and
the same read models as SQLite's projection gives."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from hub.storage import projections
from hub.storage.base import EventRow, QuarantineRow, StationSeen
from hub.storage.postgres import PostgresStore
from hub.storage.sqlite import SQLiteStore
from protos import CONTRACT_VERSION, events_pb2
from protos.event_ids import new_event_id
from tests.hub.events import STATION, UNIT, vitals_event

T0 = "2026-01-01T00:00:00.000000Z"


def _row(event: events_pb2.Event, kind: str = "vital_signs") -> EventRow:
    return EventRow(
        event_id=event.event_id,
        station_id=event.station_id,
        unit_id=event.unit_id,
        device_id=event.device_id,
        case_id=event.case_id,
        patient_id=event.patient_id,
        kind=kind,
        occurred_at=event.occurred_at.ToJsonString(),
        station_seq=event.station_seq,
        received_at=T0,
        clock_offset_ms=-12,
        raw=event.SerializeToString(),
        time_flag="",
    )


def _vitals(seq: int, case_id: str = "c-rt") -> EventRow:
    event = vitals_event(station_seq=seq, case_id=case_id, spo2=90.0 + seq / 3)
    rejected = event.vital_signs.rejected.add(reason_code="range", reason="out of range")
    rejected.reading.mdc_code, rejected.reading.value = 149530, 0.1 + seq
    rejected.reading.unit = "bpm"
    rejected.reading.measured_at.CopyFrom(event.occurred_at)
    event.vital_signs.monitor.model = "M-1 «ñ»"
    return _row(event)


def _scan(seq: int) -> EventRow:
    pdf = b"%PDF-1.7 round trips"
    event = events_pb2.Event(
        event_id=new_event_id(),
        station_id=STATION,
        unit_id=UNIT,
        case_id="c-rt",
        patient_id="p1",
        station_seq=seq,
        schema_version=CONTRACT_VERSION,
    )
    event.occurred_at.GetCurrentTime()
    d = event.scanned_document
    d.document_id, d.document_type, d.pages, d.title = f"DOC-{seq}", "LAB", 1, "Lab"
    d.body.sha256, d.body.size = hashlib.sha256(pdf).digest(), len(pdf)
    d.body.media_type = "application/pdf"
    return _row(event, "scanned_document")


@pytest.fixture
def pg(database: str) -> Iterator[PostgresStore]:
    store = PostgresStore(database, min_size=1, max_size=1)  # one connection: the traced one
    store.migrate()
    store.register_station(STATION, UNIT, T0)
    yield store
    store.close()


def _traced(store: PostgresStore, tmp_path: Path, *args: Any) -> tuple[list[bool], int]:
    """commit_ingest(*args) and the round trips libpq saw: every wait for the server ends
    with a ReadyForQuery (or, for a COPY, a CopyInResponse)."""
    trace = tmp_path / "libpq.trace"
    with trace.open("w") as out:
        with store._pool.connection() as conn:
            conn.pgconn.trace(out.fileno())
            conn.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            new = store.commit_ingest(*args)
        finally:
            with store._pool.connection() as conn:
                conn.pgconn.untrace()
    lines = trace.read_text().splitlines()
    waits = [ln for ln in lines if ln.startswith("B\t") and _waits(ln)]
    return new, len(waits)


def _waits(line: str) -> bool:
    return "\tReadyForQuery" in line or "\tCopyInResponse" in line


def test_a_vital_signs_batch_is_one_round_trip(pg: PostgresStore, tmp_path: Path) -> None:
    rows = [_vitals(seq) for seq in range(1, 6)]
    seen = [StationSeen(STATION, T0, -12, True)]
    new, trips = _traced(pg, tmp_path, rows, [], seen)
    assert new == [True] * 5
    assert trips == pg.last_commit_round_trips() == 1
    again = [rows[1], _vitals(6), _vitals(6)]  # a stored one, a new one twice
    again[2] = again[1]
    new, trips = _traced(pg, tmp_path, again, [], seen)
    assert new == [False, True, False]
    assert trips == pg.last_commit_round_trips() == 1


def test_other_projections_and_quarantine_are_counted_too(
    pg: PostgresStore, tmp_path: Path
) -> None:
    quarantined = QuarantineRow(T0, "t", STATION, "e-q", "invalid_payload", "bad", b"x")
    new, trips = _traced(pg, tmp_path, [_vitals(1), _scan(2)], [quarantined], [])
    assert new == [True, True]
    assert trips == pg.last_commit_round_trips()
    assert trips > 3  # BEGIN, the statement, the scan's statements, COMMIT


def test_the_vitals_projection_is_the_one_the_statement_does() -> None:
    # A projection added for vital signs would not run on PostgreSQL's usual path: add it
    # to the statement (hub.storage.postgres._COMMIT_SQL) as well.
    assert projections.PROJECTIONS["vital_signs"] == [projections._vitals]


def _read_models(store: Any) -> tuple[Any, ...]:
    readings = store.readings()
    return (
        [dataclasses.astuple(r) for r in readings.readings(None, None, None)],
        [dataclasses.astuple(s) for s in readings.sets(None, None, None)],
        [(e.event_id, e.station_seq) for e in store.case_timeline("c0", 100, None).items],
        [(e.event_id, e.station_seq) for e in store.case_timeline("c1", 100, None).items],
        store.get_station(STATION),
    )


def test_read_models_match_sqlite(database: str, tmp_path: Path) -> None:
    lite = SQLiteStore(tmp_path / "hub.sqlite3")
    lite.migrate()
    pg = PostgresStore(database)
    pg.migrate()
    first = [_vitals(seq, case_id=f"c{seq % 2}") for seq in range(1, 8)]
    second = [first[2], _vitals(8, "c0"), first[5], _vitals(9, "c1"), _scan(10)]
    second.append(second[1])
    seen = [StationSeen(STATION, T0, 5, True), StationSeen(STATION, "2026-01-02", 7, True)]
    try:
        got = []
        for store in (lite, pg):
            store.register_station(STATION, UNIT, T0)
            a = store.commit_ingest(first, [], seen)
            b = store.commit_ingest(second, [], seen[:1])
            got.append((a, b, _read_models(store)))
        assert got[0] == got[1]
        assert got[1][1] == [False, True, False, True, True, False]
    finally:
        lite.close()
        pg.close()
