"""Storage of the unassigned-readings inbox: one SQLite file, entries per device and message.

``data_dir/vitals-inbox.sqlite3`` (created 0600). One entry per device and
message (HL7 MSH-10) or per instant (serial), with its reason, the patient the
monitor named, the readings as sent and the monitor's identity. Pending entries
are bounded per device; past the bound the oldest are deleted and counted.
Decisions (``vitals_inbox``) change an entry's state once.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drivers.vitals.base import NumericReading
from edge_agent.capabilities.vitals.attribution import REASONS, STALE, flagged
from edge_agent.capabilities.vitals.errors import EntryDecided, EntryNotFound
from protos import events_pb2

PENDING, ASSIGNED, DISCARDED = "pending", "assigned", "discarded"


@dataclass(frozen=True)
class InboxEntry:
    entry_id: int
    device_id: str
    state: str
    reason_code: str
    reason: str
    received_at: str
    message_id: str
    patient_ids: list[str]
    patient_name: str
    readings: list[dict[str, Any]]
    monitor: dict[str, str]
    decided_by: str
    decided_at: str
    case_id: str
    event_id: str
    note: str


_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    entry_id INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    state TEXT NOT NULL,
    reason_code TEXT NOT NULL,
    received_at TEXT NOT NULL,
    group_key TEXT NOT NULL,
    message_id TEXT NOT NULL,
    patient_ids TEXT NOT NULL,
    patient_name TEXT NOT NULL,
    readings TEXT NOT NULL,
    monitor TEXT NOT NULL,
    decided_by TEXT NOT NULL DEFAULT '',
    decided_at TEXT NOT NULL DEFAULT '',
    case_id TEXT NOT NULL DEFAULT '',
    event_id TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS entries_pending ON entries(device_id, state, entry_id);
CREATE TABLE IF NOT EXISTS overflow (device_id TEXT PRIMARY KEY, dropped INTEGER NOT NULL);
"""
_COLS = (
    "entry_id, device_id, state, reason_code, received_at, message_id, patient_ids, "
    "patient_name, readings, monitor, decided_by, decided_at, case_id, event_id, note"
)


def reading_json(r: NumericReading) -> dict[str, Any]:
    return {
        "mdc_code": r.mdc_code,
        "mdc_refid": r.mdc_refid,
        "value": None if math.isnan(r.value) else r.value,
        "unit": r.unit,
        "measured_at": r.measured_at.isoformat(),
        "flags": list(r.flags),
        "containment": r.containment,
        "equipment": r.equipment,
        "source": r.source,
        "problem": r.problem,
        "raw_value": r.raw_value,
    }


def reading_of(d: dict[str, Any]) -> NumericReading:
    return NumericReading(
        int(d["mdc_code"]),
        d["mdc_refid"],
        math.nan if d["value"] is None else float(d["value"]),
        d["unit"],
        datetime.fromisoformat(d["measured_at"]),
        tuple(d["flags"]),
        containment=d["containment"],
        equipment=d["equipment"],
        source=d["source"],
        problem=d["problem"],
        raw_value=d["raw_value"],
    )


def _group_key(r: NumericReading) -> str:
    return f"msg:{r.message_id}" if r.message_id else f"at:{r.measured_at.isoformat()}"


class InboxStore:
    """The inbox's SQLite file (thread-safe; one connection behind a lock)."""

    def __init__(self, path: Path, max_per_device: int = 500) -> None:
        self.path = path
        self.max_per_device = max_per_device
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        os.close(fd)
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def add(
        self,
        device_id: str,
        readings: list[NumericReading],
        reason_code: str,
        monitor: events_pb2.DeviceIdentity | None = None,
        stale: bool = False,
    ) -> tuple[list[int], int]:
        """Put ``readings`` (of one device) in, one entry per message: (entry ids, dropped)."""
        if not readings:
            return [], 0
        groups: dict[str, list[NumericReading]] = {}
        for r in readings:
            groups.setdefault(_group_key(r), []).append(flagged(r, STALE) if stale else r)
        monitor_json = json.dumps(
            {
                k: v
                for k, v in (
                    ("model", monitor.model),
                    ("vendor", monitor.vendor),
                    ("serial", monitor.serial),
                    ("eui64", monitor.eui64),
                    ("driver", monitor.driver),
                )
                if v
            }
            if monitor is not None
            else {}
        )
        ids: list[int] = []
        now = datetime.now(UTC).isoformat()
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for key, group in groups.items():
                    row = self._conn.execute(
                        "SELECT entry_id, readings FROM entries WHERE device_id = ? AND state = ? "
                        "AND group_key = ? AND reason_code = ? ORDER BY entry_id DESC LIMIT 1",
                        (device_id, PENDING, key, reason_code),
                    ).fetchone()
                    if row is not None:  # more rows of the same message
                        merged = json.loads(row[1]) + [reading_json(r) for r in group]
                        self._conn.execute(
                            "UPDATE entries SET readings = ? WHERE entry_id = ?",
                            (json.dumps(merged), row[0]),
                        )
                        ids.append(int(row[0]))
                        continue
                    first = group[0]
                    cur = self._conn.execute(
                        "INSERT INTO entries (device_id, state, reason_code, received_at, "
                        "group_key, message_id, patient_ids, patient_name, readings, monitor) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            device_id,
                            PENDING,
                            reason_code,
                            (first.received_at.isoformat() if first.received_at else now),
                            key,
                            first.message_id,
                            json.dumps(list(first.patient_ids)),
                            first.patient_name,
                            json.dumps([reading_json(r) for r in group]),
                            monitor_json,
                        ),
                    )
                    ids.append(int(cur.lastrowid or 0))
                dropped = self._trim(device_id)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return list(dict.fromkeys(ids)), dropped

    def _trim(self, device_id: str) -> int:
        (count,) = self._conn.execute(
            "SELECT COUNT(*) FROM entries WHERE device_id = ? AND state = ?", (device_id, PENDING)
        ).fetchone()
        extra = int(count) - self.max_per_device
        if extra <= 0:
            return 0
        self._conn.execute(
            "DELETE FROM entries WHERE entry_id IN (SELECT entry_id FROM entries WHERE "
            "device_id = ? AND state = ? ORDER BY entry_id LIMIT ?)",
            (device_id, PENDING, extra),
        )
        self._conn.execute(
            "INSERT INTO overflow VALUES (?, ?) ON CONFLICT(device_id) "
            "DO UPDATE SET dropped = dropped + excluded.dropped",
            (device_id, extra),
        )
        return extra

    # -- reading ------------------------------------------------------------------------------

    def entries(
        self, device_id: str | None = None, state: str | None = PENDING, limit: int = 200
    ) -> list[InboxEntry]:
        where, args = [], []
        if device_id:
            where.append("device_id = ?")
            args.append(device_id)
        if state:
            where.append("state = ?")
            args.append(state)
        sql = f"SELECT {_COLS} FROM entries"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._lock:
            rows = self._conn.execute(
                sql + " ORDER BY entry_id DESC LIMIT ?", [*args, max(1, min(limit, 1000))]
            ).fetchall()
        return [self._entry(row) for row in rows]

    def get(self, entry_id: int) -> InboxEntry:
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_COLS} FROM entries WHERE entry_id = ?", (entry_id,)
            ).fetchone()
        if row is None:
            raise EntryNotFound(
                f"no unassigned-readings entry {entry_id} / no existe la entrada {entry_id}"
            )
        return self._entry(row)

    def dropped(self) -> dict[str, int]:
        with self._lock:
            return dict(self._conn.execute("SELECT device_id, dropped FROM overflow").fetchall())

    @staticmethod
    def _entry(row: tuple[Any, ...]) -> InboxEntry:
        return InboxEntry(
            entry_id=row[0],
            device_id=row[1],
            state=row[2],
            reason_code=row[3],
            reason=REASONS.get(row[3], row[3]),
            received_at=row[4],
            message_id=row[5],
            patient_ids=json.loads(row[6]),
            patient_name=row[7],
            readings=json.loads(row[8]),
            monitor=json.loads(row[9]),
            decided_by=row[10],
            decided_at=row[11],
            case_id=row[12],
            event_id=row[13],
            note=row[14],
        )

    def decide(
        self, entry_id: int, state: str, person: str, case_id: str, event_id: str, note: str
    ) -> None:
        with self._lock:
            cur = self._conn.execute(
                "UPDATE entries SET state = ?, decided_by = ?, decided_at = ?, case_id = ?, "
                "event_id = ?, note = ? WHERE entry_id = ? AND state = ?",
                (
                    state,
                    person,
                    datetime.now(UTC).isoformat(),
                    case_id,
                    event_id,
                    note[:500],
                    entry_id,
                    PENDING,
                ),
            )
        if cur.rowcount != 1:
            raise EntryDecided(
                f"entry {entry_id} was decided meanwhile / la entrada {entry_id} ya fue decidida"
            )
