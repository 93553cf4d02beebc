"""VitalsHub: the readings read model (filled at ingest) and the live feed of newly stored sets."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from hub.storage.base import EventRow
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
    def __init__(self, readings: Readings | Path) -> None:
        """`readings`: the store's repository (`Store.readings()`), or an SQLite file."""
        self.readings = ReadingsStore(readings) if isinstance(readings, Path) else readings
        self.feed = LiveFeed()

    def start(self) -> None:
        """Nothing to catch up: readings are projected inside ingest's transaction."""

    def on_commit(self, rows: list[EventRow]) -> None:
        """After-commit hook of ingest: push the sets just stored to live subscribers."""
        for row in rows:
            # The readings tables were filled in the ingest transaction; decode again only
            # for a case someone is watching.
            if row.kind != "vital_signs" or not self.feed.subscribers(row.case_id):
                continue
            decoded = decode_row(row)
            if decoded is None:
                continue
            vset, readings = decoded
            pushed_at = time.time()
            items = [reading_json(r, vset) | {"hub_at": pushed_at} for r in readings]
            if vset.mode in ("session_start", "session_stop"):
                items.append(
                    {"event": vset.mode, "session_id": vset.session_id, "at": vset.occurred_at}
                )
            if items:
                self.feed.publish(vset.case_id, items)

    def close(self) -> None:
        self.readings.close()
