"""VitalsHub: the readings read model (filled at ingest) and the live feed of newly stored sets."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from hub.storage.base import EventRow, LiveFanout
from hub.storage.readings import Readings, ReadingsStore, StoredReading, VitalSet, decode_row
from hub.vitals.live import LiveFeed
from protos.vitals_codes import MODE_ASSIGNED

log = logging.getLogger(__name__)


def reading_json(r: StoredReading, vset: VitalSet | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "event_id": r.event_id,
        "parameter": r.parameter or None,
        "mdc_code": r.mdc_code,
        "mdc_refid": r.mdc_refid,
        "loinc": r.loinc or None,
        "value": r.value,
        "unit": r.unit,
        "measured_at": r.measured_at,
        "flags": list(r.flags),
        "status": r.status,
    }
    if r.status == "rejected":
        out["reason_code"] = r.reason_code
        out["reason"] = r.reason
    if vset is not None:
        out["mode"] = vset.mode
        out["session_id"] = vset.session_id or None
        out["station_id"] = vset.station_id
        if vset.mode == MODE_ASSIGNED:  # taken from a station's inbox by a person
            out["assigned_by"] = vset.operator_id
            out["assigned_at"] = vset.occurred_at
    return out


class VitalsHub:
    def __init__(self, readings: Readings | Path, fanout: LiveFanout | None = None) -> None:
        """`readings`: the store's repository (`Store.readings()`), or an SQLite file;
        `fanout`: the store's cross-process news of stored sets (`Store.live_fanout()`)."""
        self.readings = ReadingsStore(readings) if isinstance(readings, Path) else readings
        self.feed = LiveFeed()
        self.fanout = fanout
        self._stop_listening: Any = None

    @classmethod
    def for_store(cls, store: Any) -> VitalsHub:
        """The VitalsHub of a store, started (listening when the store fans out)."""
        hub = cls(store.readings(), store.live_fanout())
        hub.start()
        return hub

    def start(self) -> None:
        """Nothing to catch up: readings are projected inside ingest's transaction. With a
        fan-out (several processes), listen for sets stored by any of them."""
        if self.fanout is not None and self._stop_listening is None:
            self._stop_listening = self.fanout.listen(self._on_stored)

    def on_commit(self, rows: list[EventRow]) -> None:
        """After-commit hook of ingest: push the sets just stored to live subscribers (or, with
        a fan-out, announce them to every process, this one included)."""
        if self.fanout is not None:
            stored = [(r.case_id, r.event_id) for r in rows if r.kind == "vital_signs"]
            if stored:
                self.fanout.announce(stored)
            return
        for row in rows:
            # The readings tables were filled in the ingest transaction; decode again only
            # for a case someone is watching.
            if row.kind != "vital_signs" or not self.feed.subscribers(row.case_id):
                continue
            decoded = decode_row(row)
            if decoded is None:
                continue
            self._push(*decoded)

    def _on_stored(self, stored: list[tuple[str, str]]) -> None:
        watched = [event_id for case_id, event_id in stored if self.feed.subscribers(case_id)]
        for vset, readings in self.readings.by_events(watched):
            self._push(vset, readings)

    def _push(self, vset: VitalSet, readings: list[StoredReading]) -> None:
        pushed_at = time.time()
        items = [reading_json(r, vset) | {"hub_at": pushed_at} for r in readings]
        if vset.mode in ("session_start", "session_stop"):
            items.append(
                {"event": vset.mode, "session_id": vset.session_id, "at": vset.occurred_at}
            )
        if items:
            self.feed.publish(vset.case_id, items)

    def close(self) -> None:
        if self._stop_listening is not None:
            self._stop_listening()
            self._stop_listening = None
        self.readings.close()
