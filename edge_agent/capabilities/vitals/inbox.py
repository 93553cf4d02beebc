"""The unassigned-readings inbox ("lecturas sin asignar"): readings no take or stream may claim.

Readings go in with the reason they were not attached
(``vitals_attribution.REASONS``) and wait (``vitals_inbox_store``, they survive
a restart) until a person assigns them to a case — recorded as a
VitalSignsObservation of mode "assigned" naming who did it — or discards them.
Assignments and discards are written to the audit log one by one; arrivals and
overflow at most once a minute per device and reason, with counts.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from drivers.vitals.base import NumericReading
from edge_agent.audit import AuditLog
from edge_agent.capabilities.vitals.inbox_store import (
    ASSIGNED,
    DISCARDED,
    PENDING,
    EntryDecided,
    EntryNotFound,
    InboxEntry,
    InboxStore,
    reading_of,
)
from edge_agent.capabilities.vitals.mapping import map_readings
from edge_agent.errors import InvalidInput
from edge_agent.record import RecordService
from protos import events_pb2
from protos.vitals_codes import MODE_ASSIGNED

log = logging.getLogger(__name__)

__all__ = ["EntryDecided", "EntryNotFound", "InboxEntry", "VitalsInbox"]

AUDIT_EVERY_S = 60.0  # arrivals are audited per device and reason at most this often


class VitalsInbox:
    """Per-device unassigned readings; assignment records the fact; decisions are audited."""

    def __init__(
        self, path: Path, recorder: RecordService, audit: AuditLog, max_per_device: int = 500
    ) -> None:
        self.store = InboxStore(path, max_per_device)
        self.recorder = recorder
        self.audit = audit
        self._lock = threading.Lock()
        self._deciding = threading.Lock()  # one decision at a time: no entry recorded twice
        self._audited_at: dict[tuple[str, str], float] = {}
        self._unaudited: dict[tuple[str, str], list[int]] = {}

    def close(self) -> None:
        self.flush_audit(force=True)
        self.store.close()

    def add(
        self,
        device_id: str,
        readings: list[NumericReading],
        reason_code: str,
        monitor: events_pb2.DeviceIdentity | None = None,
        stale: bool = False,
    ) -> list[int]:
        """Put ``readings`` (of one device) in the inbox, one entry per message; entry ids."""
        ids, dropped = self.store.add(device_id, readings, reason_code, monitor, stale)
        if ids or dropped:
            self._audit_arrivals(device_id, ids, reason_code, dropped)
        return ids

    def entries(
        self, device_id: str | None = None, state: str | None = PENDING, limit: int = 200
    ) -> list[InboxEntry]:
        return self.store.entries(device_id, state, limit)

    def get(self, entry_id: int) -> InboxEntry:
        return self.store.get(entry_id)

    def dropped(self) -> dict[str, int]:
        return self.store.dropped()

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
        readings = [reading_of(d) for d in entry.readings]
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
        self.store.decide(entry_id, ASSIGNED, person, case_id, event_id, note)
        self.audit.record(
            "vitals_assigned",
            device_id=entry.device_id,
            entry_id=entry_id,
            case_id=case_id,
            by=person,
            event_id=event_id,
        )
        return self.store.get(entry_id), event_id, seq

    def discard(self, entry_id: int, discarded_by: str, note: str = "") -> InboxEntry:
        person = _person(discarded_by)
        with self._deciding:
            entry = self._pending(entry_id)
            self.store.decide(entry_id, DISCARDED, person, "", "", note)
        self.audit.record(
            "vitals_discarded", device_id=entry.device_id, entry_id=entry_id, by=person, note=note
        )
        return self.store.get(entry_id)

    def _pending(self, entry_id: int) -> InboxEntry:
        entry = self.store.get(entry_id)
        if entry.state != PENDING:
            raise EntryDecided(
                f"entry {entry_id} was already {entry.state} by {entry.decided_by} / "
                f"la entrada {entry_id} ya fue decidida ({entry.state}) por {entry.decided_by}"
            )
        return entry


def _person(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= 80:
        raise InvalidInput(
            "say who decides (1-80 characters) / indique quién decide (1 a 80 caracteres)",
            code="missing_person",
        )
    return name
