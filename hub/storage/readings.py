"""Vital-sign readings per case and parameter: tables (migration 300), filled in ingest's commit.

``vital_sets`` holds one row per VitalSignsObservation event (spot set, stream
batch, session start/stop); ``vital_readings`` one row per reading, accepted or
rejected, keyed by case, parameter and time. Both are derived from the
``events`` table by :func:`project_vitals`, a projection
(``hub/storage/projections.py``) that runs in the same transaction as the
events' insert: the read model is never behind the events, so nothing has to
be caught up at start. Migration 301 derives, once, the sets of events stored
before the projection existed. Migration 402 adds ``equipment``: the device that
measured a reading when the protocol names one per reading (HL7 OBX-18), so two
heart rates from an ECG and a pulse oximeter stay two facts with their sources.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import sqlite_utils

from hub.storage.base import EventRow, SqlConnection
from protos import events_pb2
from protos.vitals_codes import BY_MDC, MODE_SESSION_START, MODE_SESSION_STOP

if TYPE_CHECKING:
    from google.protobuf.timestamp_pb2 import Timestamp

log = logging.getLogger(__name__)


def m300_vitals(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE vital_sets (
            event_id TEXT PRIMARY KEY,
            case_id TEXT NOT NULL,
            patient_id TEXT NOT NULL,
            station_id TEXT NOT NULL,
            unit_id TEXT NOT NULL,
            device_id TEXT NOT NULL,
            mode TEXT NOT NULL,
            session_id TEXT NOT NULL,
            occurred_at TEXT NOT NULL,
            operator_id TEXT NOT NULL,
            monitor_json TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX vital_sets_case ON vital_sets(case_id, occurred_at)")
    db.execute("CREATE INDEX vital_sets_session ON vital_sets(session_id) WHERE session_id != ''")
    db.execute(
        """
        CREATE TABLE vital_readings (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            event_id TEXT NOT NULL REFERENCES vital_sets(event_id),
            case_id TEXT NOT NULL,
            parameter TEXT NOT NULL,
            mdc_code INTEGER NOT NULL,
            mdc_refid TEXT NOT NULL,
            loinc TEXT NOT NULL,
            value REAL NOT NULL,
            unit TEXT NOT NULL,
            measured_at TEXT NOT NULL,
            containment TEXT NOT NULL,
            flags TEXT NOT NULL,
            status TEXT NOT NULL,
            reason_code TEXT NOT NULL,
            reason TEXT NOT NULL
        )
        """
    )
    db.execute(
        "CREATE INDEX vital_readings_case ON vital_readings(case_id, parameter, measured_at)"
    )
    db.execute("CREATE INDEX vital_readings_time ON vital_readings(measured_at)")
    db.execute("CREATE INDEX vital_readings_event ON vital_readings(event_id)")


@dataclass(frozen=True)
class StoredReading:
    event_id: str
    case_id: str
    parameter: str  # key from protos.vitals_codes ("" when the code is unknown)
    mdc_code: int
    mdc_refid: str
    loinc: str
    value: float
    unit: str
    measured_at: str
    containment: str
    flags: tuple[str, ...]
    status: str  # "accepted" | "rejected"
    reason_code: str
    reason: str
    equipment: str = ""  # the measuring equipment named per reading ("" = the set's monitor)


@dataclass(frozen=True)
class VitalSet:
    event_id: str
    case_id: str
    patient_id: str
    station_id: str
    unit_id: str
    device_id: str
    mode: str
    session_id: str
    occurred_at: str
    operator_id: str
    monitor: dict[str, str]


@dataclass(frozen=True)
class SessionSpan:
    session_id: str
    case_id: str
    patient_id: str
    device_id: str
    station_id: str
    monitor: dict[str, str]
    started_at: str
    stopped_at: str | None


class Readings(Protocol):
    """What the hub's vitals API and exports need from storage."""

    def readings(
        self,
        case_id: str | None,
        since: str | None,
        until: str | None,
        parameter: str | None = None,
        status: str | None = None,
    ) -> list[StoredReading]: ...

    def sets(self, case_id: str | None, since: str | None, until: str | None) -> list[VitalSet]: ...

    def sessions(self, case_id: str | None) -> list[SessionSpan]: ...

    def by_events(self, event_ids: Sequence[str]) -> list[tuple[VitalSet, list[StoredReading]]]:
        """The sets (with their readings) of these events, for the live view."""
        ...

    def close(self) -> None: ...


def _iso(ts: Timestamp) -> str:
    """e.g. 2025-03-01T14:05:09.123Z (UTC, milliseconds); a hot path of ingest, so no datetime."""
    seconds, nanos = ts.seconds, ts.nanos
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))}.{nanos // 1_000_000:03d}Z"


def decode(
    event_id: str,
    case_id: str,
    patient_id: str,
    station_id: str,
    unit_id: str,
    device_id: str,
    raw: bytes,
) -> tuple[VitalSet, list[StoredReading]] | None:
    event = events_pb2.Event.FromString(raw)
    if event.WhichOneof("payload") != "vital_signs":
        return None
    obs = event.vital_signs
    m = obs.monitor
    monitor = {
        k: v
        for k, v in (
            ("model", m.model),
            ("vendor", m.vendor),
            ("serial", m.serial),
            ("driver", m.driver),
            ("eui64", m.eui64),
        )
        if v
    }
    vset = VitalSet(
        event_id,
        case_id,
        patient_id,
        station_id,
        unit_id,
        device_id,
        obs.mode,
        obs.session_id,
        _iso(event.occurred_at),
        obs.operator_id,
        monitor,
    )
    out: list[StoredReading] = []
    for r, status, code, reason in [(r, "accepted", "", "") for r in obs.readings] + [
        (x.reading, "rejected", x.reason_code, x.reason) for x in obs.rejected
    ]:
        if not math.isfinite(r.value) or not 0 <= r.measured_at.seconds <= _LAST_SECOND:
            # A refused NaN/infinity stays in the event as evidence (value is NOT NULL here);
            # a time ingest refuses today (hub.ingest.limits) is no row either.
            continue
        p = BY_MDC.get(r.mdc_code)
        out.append(
            StoredReading(
                event_id,
                case_id,
                p.key if p else "",
                r.mdc_code,
                r.mdc_refid,
                p.loinc if p else "",
                r.value,
                r.unit,
                _iso(r.measured_at),
                r.containment,
                tuple(r.flags),
                status,
                code,
                reason,
                r.equipment,
            )
        )
    return vset, out


_LAST_SECOND = 253_402_300_799  # 9999-12-31T23:59:59Z

# The columns of migration 300 (what the backfill of migration 301 may write), then 402's.
_READING_COLS_300 = (
    "event_id, case_id, parameter, mdc_code, mdc_refid, loinc, value, unit, measured_at, "
    "containment, flags, status, reason_code, reason"
)
_READING_COLS = _READING_COLS_300 + ", equipment"
_SET_COLS = (
    "event_id, case_id, patient_id, station_id, unit_id, device_id, mode, session_id, "
    "occurred_at, operator_id, monitor_json"
)


def set_values(vset: VitalSet) -> tuple[object, ...]:
    return (
        vset.event_id,
        vset.case_id,
        vset.patient_id,
        vset.station_id,
        vset.unit_id,
        vset.device_id,
        vset.mode,
        vset.session_id,
        vset.occurred_at,
        vset.operator_id,
        json.dumps(vset.monitor, sort_keys=True),
    )


def reading_values(r: StoredReading) -> tuple[object, ...]:
    return (
        r.event_id,
        r.case_id,
        r.parameter,
        r.mdc_code,
        r.mdc_refid,
        r.loinc,
        r.value,
        r.unit,
        r.measured_at,
        r.containment,
        json.dumps(list(r.flags)),
        r.status,
        r.reason_code,
        r.reason,
        r.equipment,
    )


def m402_reading_equipment(db: sqlite_utils.Database) -> None:
    db.execute("ALTER TABLE vital_readings ADD COLUMN equipment TEXT NOT NULL DEFAULT ''")


def insert_sets(
    conn: SqlConnection, decoded: Iterable[tuple[VitalSet, list[StoredReading]]]
) -> list[tuple[VitalSet, list[StoredReading]]]:
    """Insert sets and their readings in the caller's transaction; skip sets already there."""
    added: list[tuple[VitalSet, list[StoredReading]]] = []
    for vset, readings in decoded:
        cur = conn.execute(
            f"INSERT OR IGNORE INTO vital_sets ({_SET_COLS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            set_values(vset),
        )
        if cur.rowcount == 0:
            continue
        conn.executemany(  # runs in migration 301, before 402 added ``equipment``
            f"INSERT INTO vital_readings ({_READING_COLS_300}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [reading_values(r)[:-1] for r in readings],
        )
        added.append((vset, readings))
    return added


def decode_row(e: EventRow) -> tuple[VitalSet, list[StoredReading]] | None:
    """The set of one stored event; None (logged) when it cannot be read, never an error."""
    try:
        return decode(
            e.event_id, e.case_id, e.patient_id, e.station_id, e.unit_id, e.device_id, e.raw
        )
    except Exception:  # a projection must not fail ingest
        log.exception("vital-signs event %s cannot be decoded", e.event_id)
        return None


def project_vitals(conn: SqlConnection, rows: Sequence[EventRow]) -> None:
    """Projection: readings of newly stored vital-signs events, inside ingest's transaction.

    The events are new (ingest passes only first deliveries), so their sets cannot be there
    yet: sets and readings of the whole batch go in with one executemany each.
    """
    decoded = [d for d in (decode_row(e) for e in rows) if d is not None]
    conn.executemany(
        f"INSERT OR IGNORE INTO vital_sets ({_SET_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [set_values(vset) for vset, _ in decoded],
    )
    conn.executemany(
        f"INSERT INTO vital_readings ({_READING_COLS}) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [reading_values(r) for _, readings in decoded for r in readings],
    )


def m301_vitals_backfill(db: sqlite_utils.Database) -> None:
    """Derive, once, the sets of vital-signs events stored before the projection existed."""
    conn = db.conn
    last = 0
    while True:
        rows = conn.execute(
            "SELECT ingest_seq, event_id, case_id, patient_id, station_id, unit_id, device_id, "
            "raw FROM events WHERE kind = 'vital_signs' AND ingest_seq > ? "
            "ORDER BY ingest_seq LIMIT 500",
            (last,),
        ).fetchall()
        if not rows:
            return
        last = rows[-1][0]
        decoded = []
        for row in rows:
            try:
                d = decode(*row[1:])
            except Exception:
                log.exception("vital-signs event %s cannot be decoded", row[1])
                continue
            if d is not None:
                decoded.append(d)
        insert_sets(conn, decoded)


class ReadingsStore:
    """The SQLite implementation of :class:`Readings`, on the hub's database file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def _conn(self) -> SqlConnection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=10000")
            self._local.conn = conn
        return conn

    def readings(
        self,
        case_id: str | None,
        since: str | None,
        until: str | None,
        parameter: str | None = None,
        status: str | None = None,
    ) -> list[StoredReading]:
        where, args = _range("measured_at", case_id, since, until)
        if parameter:
            where.append("parameter = ?")
            args.append(parameter)
        if status:
            where.append("status = ?")
            args.append(status)
        sql = f"SELECT {_READING_COLS} FROM vital_readings"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._conn().execute(sql + " ORDER BY measured_at, id", args).fetchall()
        return [
            StoredReading(*r[:10], _flags(r[10]), *r[11:])  # type: ignore[call-arg]  # mypy reads *row as filling every field
            for r in rows
        ]

    def sets(self, case_id: str | None, since: str | None, until: str | None) -> list[VitalSet]:
        where, args = _range("occurred_at", case_id, since, until)
        sql = f"SELECT {_SET_COLS} FROM vital_sets"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._conn().execute(sql + " ORDER BY occurred_at, event_id", args).fetchall()
        return [VitalSet(*r[:10], json.loads(r[10])) for r in rows]  # type: ignore[call-arg]  # mypy reads *row as filling every field

    def sessions(self, case_id: str | None) -> list[SessionSpan]:
        sql = (
            "SELECT session_id, case_id, patient_id, device_id, station_id, monitor_json, "
            "MIN(CASE WHEN mode = ? THEN occurred_at END), MIN(occurred_at), "
            "MAX(CASE WHEN mode = ? THEN occurred_at END) "
            "FROM vital_sets WHERE session_id != ''"
        )
        args: list[object] = [MODE_SESSION_START, MODE_SESSION_STOP]
        if case_id is not None:
            sql += " AND case_id = ?"
            args.append(case_id)
        rows = self._conn().execute(sql + " GROUP BY session_id ORDER BY 8", args).fetchall()
        return [
            SessionSpan(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6] or r[7], r[8])
            for r in rows
        ]

    def by_events(self, event_ids: Sequence[str]) -> list[tuple[VitalSet, list[StoredReading]]]:
        """The sets of these events with their readings (the live fan-out reads them back)."""
        ids = list(dict.fromkeys(event_ids))[:500]
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        conn = self._conn()
        sets = [
            VitalSet(*r[:10], json.loads(r[10]))  # type: ignore[call-arg]  # mypy reads *row as filling every field
            for r in conn.execute(
                f"SELECT {_SET_COLS} FROM vital_sets WHERE event_id IN ({marks}) "
                "ORDER BY occurred_at, event_id",
                ids,
            ).fetchall()
        ]
        by_event: dict[str, list[StoredReading]] = {}
        for r in conn.execute(
            f"SELECT {_READING_COLS} FROM vital_readings WHERE event_id IN ({marks}) ORDER BY id",
            ids,
        ).fetchall():
            by_event.setdefault(r[0], []).append(
                StoredReading(*r[:10], _flags(r[10]), *r[11:])  # type: ignore[call-arg]  # mypy reads *row as filling every field
            )
        return [(s, by_event.get(s.event_id, [])) for s in sets]

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _flags(stored: str) -> tuple[str, ...]:
    """A reading's flags column; most readings have none (skip the JSON decoder for them)."""
    return () if stored == "[]" else tuple(json.loads(stored))


def _range(
    column: str, case_id: str | None, since: str | None, until: str | None
) -> tuple[list[str], list[object]]:
    where: list[str] = []
    args: list[object] = []
    if case_id is not None:
        where.append("case_id = ?")
        args.append(case_id)
    if since:
        where.append(f"{column} >= ?")
        args.append(since)
    if until:
        where.append(f"{column} < ?")
        args.append(until)
    return where, args


def iso_z(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sets_with_readings(
    store: Readings, case_id: str | None, since: str | None, until: str | None
) -> list[tuple[VitalSet, list[StoredReading]]]:
    """Observation sets with their accepted readings (readings by measured_at in range)."""
    by_event: dict[str, list[StoredReading]] = {}
    for r in store.readings(case_id, since, until, status="accepted"):
        by_event.setdefault(r.event_id, []).append(r)
    sets: Sequence[VitalSet] = store.sets(case_id, None, None) if by_event else []
    return [(s, by_event[s.event_id]) for s in sets if s.event_id in by_event]
