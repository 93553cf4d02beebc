"""The unassigned-readings inbox ("lecturas sin asignar"): readings no take or stream may claim.

One entry per device and message (an HL7 message, or the readings a serial
monitor sent at one instant), with the reason it was not attached
(``vitals_attribution.REASONS``). Entries live in ``data_dir/vitals-inbox.sqlite3``
(they survive a restart) until a person assigns them to a case — recorded as a
VitalSignsObservation of mode "assigned" naming who did it — or discards them.
Assignments and discards are written to the audit log one by one; arrivals and
overflow at most once a minute per device and reason, with counts.
Pending entries are bounded per device; past the bound the oldest are dropped,
counted per device and audited, never silently.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drivers.vitals.base import NumericReading
from edge_agent.audit import AuditLog
from edge_agent.errors import AgentError, InvalidInput
from edge_agent.services.record import RecordService
from edge_agent.services.vitals_attribution import REASONS, STALE, flagged
from edge_agent.services.vitals_mapping import map_readings
from protos import events_pb2
from protos.vitals_codes import MODE_ASSIGNED

log = logging.getLogger(__name__)

PENDING, ASSIGNED, DISCARDED = "pending", "assigned", "discarded"
AUDIT_EVERY_S = 60.0  # arrivals are audited per device and reason at most this often


class EntryNotFound(AgentError):
    code = "inbox_entry_not_found"
    title = "Unknown inbox entry / Entrada desconocida"
    http_status = 404


class EntryDecided(AgentError):
    code = "inbox_entry_decided"
    title = "Already decided / Ya decidida"
    http_status = 409


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


def _reading_json(r: NumericReading) -> dict[str, Any]:
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


def _reading_of(d: dict[str, Any]) -> NumericReading:
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


class VitalsInbox:
    """Per-device unassigned readings; assignment records the fact, everything is audited."""

    def __init__(
        self, path: Path, recorder: RecordService, audit: AuditLog, max_per_device: int = 500
    ) -> None:
        self.path = path
        self.recorder = recorder
        self.audit = audit
        self.max_per_device = max_per_device
        self._lock = threading.Lock()
        self._deciding = threading.Lock()  # one decision at a time: no entry recorded twice
        self._audited_at: dict[tuple[str, str], float] = {}
        self._unaudited: dict[tuple[str, str], list[int]] = {}
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        os.close(fd)
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        self.flush_audit(force=True)
        with self._lock:
            self._conn.close()

    # -- arrivals -----------------------------------------------------------------------------

    def add(
        self,
        device_id: str,
        readings: list[NumericReading],
        reason_code: str,
        monitor: events_pb2.DeviceIdentity | None = None,
        stale: bool = False,
    ) -> list[int]:
        """Put ``readings`` (of one device) in the inbox, one entry per message; entry ids."""
        if not readings:
            return []
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
                        merged = json.loads(row[1]) + [_reading_json(r) for r in group]
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
                            json.dumps([_reading_json(r) for r in group]),
                            monitor_json,
                        ),
                    )
                    ids.append(int(cur.lastrowid or 0))
                dropped = self._trim(device_id)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        self._audit_arrivals(device_id, list(dict.fromkeys(ids)), reason_code, dropped)
        return list(dict.fromkeys(ids))

    def _audit_arrivals(self, device_id: str, ids: list[int], reason: str, dropped: int) -> None:
        """Count arrivals and overflow; audit them at most once a minute per device and reason.

        A monitor left streaming with no take adds an entry a second: one audit line each
        would rotate pairing and signing decisions out of the log within hours.
        """
        with self._lock:
            pending = self._unaudited.setdefault((device_id, reason), [0, 0, 0])
            pending[0] += len(ids)
            pending[1] += dropped
            pending[2] = ids[-1] if ids else pending[2]
        self.flush_audit()

    def flush_audit(self, force: bool = False) -> None:
        """Write the counted arrivals and overflow that are due (all of them with ``force``)."""
        now = time.monotonic()
        due = []
        with self._lock:
            for key, (entries, lost, last) in list(self._unaudited.items()):
                if not (entries or lost):
                    continue
                if not force and now - self._audited_at.get(key, -AUDIT_EVERY_S) < AUDIT_EVERY_S:
                    continue
                self._audited_at[key] = now
                self._unaudited[key] = [0, 0, 0]
                due.append((key, entries, lost, last))
        for (device_id, reason), entries, lost, last in due:
            if entries:
                self.audit.record(
                    "vitals_unassigned",
                    device_id=device_id,
                    entry_id=last,
                    entries=entries,
                    reason=reason,
                )
            if lost:
                log.warning("vitals inbox of %s full: %d oldest entries dropped", device_id, lost)
                self.audit.record("vitals_inbox_overflow", device_id=device_id, dropped=lost)

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

    # -- decisions ----------------------------------------------------------------------------

    def assign(
        self, entry_id: int, case_id: str, patient_id: str, assigned_by: str, note: str = ""
    ) -> tuple[InboxEntry, str, int]:
        """Record the entry's readings for ``case_id`` (mode "assigned"); (entry, event, seq)."""
        person = _person(assigned_by)
        with self._deciding:
            return self._assign(entry_id, case_id, patient_id, person, note)

    def _assign(
        self, entry_id: int, case_id: str, patient_id: str, person: str, note: str
    ) -> tuple[InboxEntry, str, int]:
        entry = self._pending(entry_id)
        readings = [_reading_of(d) for d in entry.readings]
        accepted, rejected = map_readings(readings)
        monitor = events_pb2.DeviceIdentity(**entry.monitor)
        observation = events_pb2.VitalSignsObservation(
            readings=accepted,
            rejected=rejected,
            monitor=monitor,
            mode=MODE_ASSIGNED,
            operator_id=person,
            assigned_by=person,
            inbox_reason=entry.reason_code,
        )
        event_id, seq = self.recorder.record(
            payload_name="vital_signs",
            payload=observation,
            device_id=entry.device_id,
            case_id=case_id,
            patient_id=patient_id,
        )
        self._decide(entry_id, ASSIGNED, person, case_id, event_id, note)
        self.audit.record(
            "vitals_assigned",
            device_id=entry.device_id,
            entry_id=entry_id,
            case_id=case_id,
            by=person,
            event_id=event_id,
        )
        return self.get(entry_id), event_id, seq

    def discard(self, entry_id: int, discarded_by: str, note: str = "") -> InboxEntry:
        person = _person(discarded_by)
        with self._deciding:
            entry = self._pending(entry_id)
            self._decide(entry_id, DISCARDED, person, "", "", note)
        self.audit.record(
            "vitals_discarded", device_id=entry.device_id, entry_id=entry_id, by=person, note=note
        )
        return self.get(entry_id)

    def _pending(self, entry_id: int) -> InboxEntry:
        entry = self.get(entry_id)
        if entry.state != PENDING:
            raise EntryDecided(
                f"entry {entry_id} was already {entry.state} by {entry.decided_by} / "
                f"la entrada {entry_id} ya fue decidida ({entry.state}) por {entry.decided_by}"
            )
        return entry

    def _decide(
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


def _person(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= 80:
        raise InvalidInput(
            "say who decides (1-80 characters) / indique quién decide (1 a 80 caracteres)",
            code="missing_person",
        )
    return name
