"""Dispensed medicines read model (one row per item handed over) and the pharmacy catalogue.

``dispensings`` holds one row per MedicationDispensed event (who, when, the
confirmation), ``dispensed_items`` one row per item, projected in the ingest
transaction; ``pharmacy_catalogue`` is what the hub distributes to stations.
Recall ("which patients received lot X") reads ``dispensed_items`` by lot.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from google.protobuf.message import DecodeError

from hub.ingest.timefmt import iso_utc
from hub.storage.base import EventRow, SqlConnection
from protos import events_pb2

log = logging.getLogger(__name__)


_M900 = """
        CREATE TABLE dispensings (
            event_id TEXT PRIMARY KEY,
            case_id TEXT NOT NULL,
            patient_id TEXT NOT NULL,
            station_id TEXT NOT NULL,
            occurred_at TEXT NOT NULL,
            session_id TEXT NOT NULL,
            prescription_id TEXT NOT NULL,
            pharmacist_id TEXT NOT NULL,
            confirmation_event_id TEXT NOT NULL,
            confirmation_decision TEXT NOT NULL,
            catalogue_version TEXT NOT NULL,
            lines_json TEXT NOT NULL,
            differences_json TEXT NOT NULL
        );
        CREATE INDEX dispensings_case ON dispensings(case_id, occurred_at);
        CREATE TABLE dispensed_items (
            event_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            gtin TEXT NOT NULL,
            institute_code TEXT NOT NULL,
            name TEXT NOT NULL,
            lot TEXT NOT NULL,
            expiry TEXT NOT NULL,
            serial TEXT NOT NULL,
            quantity INTEGER NOT NULL,
            warning TEXT NOT NULL,
            PRIMARY KEY (event_id, position)
        );
        CREATE INDEX dispensed_items_lot ON dispensed_items(lot, gtin);
        CREATE INDEX dispensed_items_serial ON dispensed_items(gtin, serial);
        CREATE TABLE pharmacy_catalogue (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            version TEXT NOT NULL,
            document TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
"""


def m900_dispensing(db: Any) -> None:
    # One statement at a time: executescript would commit the migration's transaction.
    for statement in _M900.split(";"):
        if statement.strip():
            db.conn.execute(statement)
    rows = db.conn.execute(
        "SELECT event_id, raw FROM events WHERE kind = 'medication_dispensed'"
    ).fetchall()
    project_dispensing(db.conn, [_Row(r[0], r[1]) for r in rows])


@dataclass(frozen=True)
class _Row:
    event_id: str
    raw: bytes


def project_dispensing(conn: SqlConnection, rows: Sequence[EventRow] | Sequence[_Row]) -> None:
    heads, items = [], []
    for row in rows:
        try:
            event = events_pb2.Event.FromString(row.raw)
        except DecodeError:
            log.warning("dispensing undecodable at projection", extra={"event_id": row.event_id})
            continue
        if event.WhichOneof("payload") != "medication_dispensed":
            continue
        m = event.medication_dispensed
        lines = [
            {
                "product_code": x.product_code,
                "quantity_prescribed": x.quantity_prescribed,
                "duration_days": x.duration_days,
                "quantity_dispensed": x.quantity_dispensed,
                "status": x.status,
            }
            for x in m.lines
        ]
        heads.append(
            (
                row.event_id,
                event.case_id,
                event.patient_id,
                event.station_id,
                iso_utc(event.occurred_at.seconds, event.occurred_at.nanos),
                m.session_id,
                m.prescription_id,
                m.pharmacist_id,
                m.confirmation_event_id,
                events_pb2.ConfirmationDecision.Name(m.confirmation_decision),
                m.catalogue_version,
                json.dumps(lines),
                json.dumps(list(m.differences), ensure_ascii=False),
            )
        )
        for i, it in enumerate(m.items):
            items.append(
                (
                    row.event_id,
                    i,
                    it.gtin,
                    it.institute_code,
                    it.name,
                    it.lot,
                    it.expiry,
                    it.serial,
                    it.quantity,
                    it.warning,
                )
            )
    conn.executemany("INSERT OR IGNORE INTO dispensings VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", heads)
    conn.executemany("INSERT OR IGNORE INTO dispensed_items VALUES (?,?,?,?,?,?,?,?,?,?)", items)


@dataclass(frozen=True)
class DispensedItemRow:
    gtin: str
    institute_code: str
    name: str
    lot: str
    expiry: str
    serial: str
    quantity: int
    warning: str


@dataclass(frozen=True)
class Dispensing:
    event_id: str
    case_id: str
    patient_id: str
    station_id: str
    occurred_at: str
    session_id: str
    prescription_id: str
    pharmacist_id: str
    confirmation_event_id: str
    confirmation_decision: str
    catalogue_version: str
    lines: list[dict[str, Any]]
    differences: list[str]
    items: list[DispensedItemRow]


@dataclass(frozen=True)
class RecallHit:
    patient_id: str
    case_id: str
    event_id: str
    occurred_at: str
    station_id: str
    pharmacist_id: str
    gtin: str
    name: str
    lot: str
    expiry: str
    serial: str
    quantity: int


class DispensingStore(Protocol):
    def by_case(self, case_id: str, limit: int = 200) -> list[Dispensing]: ...

    def by_cases(self, case_ids: Sequence[str]) -> dict[str, list[Dispensing]]: ...

    def recall(self, lot: str, gtin: str | None = None, limit: int = 1000) -> list[RecallHit]: ...

    def raw_events(self, event_ids: Sequence[str]) -> dict[str, bytes]: ...

    def catalogue(self) -> tuple[str, str] | None: ...

    def set_catalogue(self, version: str, document: str, at: str) -> None: ...


class SQLiteDispensing:
    """Dispensings and the catalogue in the hub's SQLite file (tables of migration 900)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=10000")
            self._local.conn = conn
        return conn

    def by_case(self, case_id: str, limit: int = 200) -> list[Dispensing]:
        conn = self._conn()
        heads = conn.execute(
            "SELECT * FROM dispensings WHERE case_id = ? ORDER BY occurred_at DESC, event_id DESC "
            "LIMIT ?",
            (case_id, limit),
        ).fetchall()
        out = []
        for h in heads:
            items = [
                DispensedItemRow(*r)
                for r in conn.execute(
                    "SELECT gtin, institute_code, name, lot, expiry, serial, quantity, warning "
                    "FROM dispensed_items WHERE event_id = ? ORDER BY position",
                    (h[0],),
                )
            ]
            out.append(Dispensing(*h[:11], json.loads(h[11]), json.loads(h[12]), items))  # type: ignore[call-arg]  # mypy reads *row as filling every field
        return out

    def by_cases(self, case_ids: Sequence[str]) -> dict[str, list[Dispensing]]:
        """The dispensings of each case named (a page of the cases list), newest first: two
        queries whatever the number of cases."""
        ids = list(dict.fromkeys(case_ids))
        if not ids:
            return {}
        conn = self._conn()
        marks = ",".join("?" * len(ids))
        heads = conn.execute(
            f"SELECT * FROM dispensings WHERE case_id IN ({marks}) "
            "ORDER BY occurred_at DESC, event_id DESC",
            ids,
        ).fetchall()
        items: dict[str, list[DispensedItemRow]] = {}
        if heads:
            events = [h[0] for h in heads]
            rows = conn.execute(
                "SELECT event_id, gtin, institute_code, name, lot, expiry, serial, quantity, "
                f"warning FROM dispensed_items WHERE event_id IN ({','.join('?' * len(events))}) "
                "ORDER BY event_id, position",
                events,
            ).fetchall()
            for r in rows:
                items.setdefault(r[0], []).append(DispensedItemRow(*r[1:]))
        out: dict[str, list[Dispensing]] = {}
        for h in heads:
            d = Dispensing(*h[:11], json.loads(h[11]), json.loads(h[12]), items.get(h[0], []))  # type: ignore[call-arg]  # mypy reads *row as filling every field
            out.setdefault(d.case_id, []).append(d)
        return out

    def recall(self, lot: str, gtin: str | None = None, limit: int = 1000) -> list[RecallHit]:
        """Every item of ``lot`` (optionally of one GTIN) handed over, newest first."""
        sql = (
            "SELECT d.patient_id, d.case_id, d.event_id, d.occurred_at, d.station_id, "
            "d.pharmacist_id, i.gtin, i.name, i.lot, i.expiry, i.serial, i.quantity "
            "FROM dispensed_items i JOIN dispensings d ON d.event_id = i.event_id WHERE i.lot = ?"
        )
        args: list[Any] = [lot]
        if gtin:
            sql += " AND i.gtin = ?"
            args.append(gtin)
        sql += " ORDER BY d.occurred_at DESC, d.event_id DESC, i.position LIMIT ?"
        args.append(limit)
        return [RecallHit(*r) for r in self._conn().execute(sql, args)]

    def raw_events(self, event_ids: Sequence[str]) -> dict[str, bytes]:
        """The stored protobuf of each event named (missing ones are absent)."""
        ids = list(dict.fromkeys(event_ids))
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._conn().execute(
            f"SELECT event_id, raw FROM events WHERE event_id IN ({marks})", ids
        )
        return {r[0]: r[1] for r in rows}

    def catalogue(self) -> tuple[str, str] | None:
        """(version, JSON document) of the catalogue stations fetch, if one was loaded."""
        row = (
            self._conn()
            .execute("SELECT version, document FROM pharmacy_catalogue WHERE id = 1")
            .fetchone()
        )
        return (row[0], row[1]) if row else None

    def set_catalogue(self, version: str, document: str, at: str) -> None:
        self._conn().execute(
            "INSERT INTO pharmacy_catalogue (id, version, document, updated_at) VALUES (1,?,?,?) "
            "ON CONFLICT(id) DO UPDATE SET version=excluded.version, document=excluded.document, "
            "updated_at=excluded.updated_at",
            (version, document, at),
        )
