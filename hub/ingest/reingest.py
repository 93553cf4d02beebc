"""Re-ingest a quarantined event under today's rules, when ops decide to (API and CLI).

A station's event may have been quarantined by rules since relaxed (a station clock
far off was once a reason; now such a time is stored flagged) or by a registry that
has since been corrected. Ops review the quarantine and re-ingest an entry: it goes
through the same validation and commit as live ingest, from its first arrival time,
without the per-station ordering gate (the station moved on long ago) and without a
receipt (the station deleted it when it was rejected). Refused again, it stays in
the quarantine with the new reason recorded; nothing is quarantined twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from hub.ingest.pipeline import Incoming, process_batch
from hub.ingest.timefmt import now_iso
from hub.ingest.validation import Rejection, validate_event
from hub.storage.base import Store
from protos import events_pb2, topics


class NotQuarantined(LookupError):
    """No quarantine entry has that id."""


@dataclass(frozen=True)
class Reingested:
    quarantine_id: int
    event_id: str
    outcome: str  # accepted | duplicate | rejected
    reason: str = ""


def reingest(store: Store, quarantine_id: int, max_skew_s: int, clock_flag_s: float) -> Reingested:
    entry = store.get_quarantined(quarantine_id)
    if entry is None:
        raise NotQuarantined(quarantine_id)
    try:
        where = topics.parse(entry.topic)
    except topics.TopicError as exc:
        return _done(store, Reingested(quarantine_id, "", "rejected", str(exc)))
    stations = store.stations_by_id([where.station_id])
    checked = validate_event(entry.raw, where, stations)
    if isinstance(checked, Rejection):
        outcome = Reingested(quarantine_id, checked.event_id or "", "rejected", checked.reason)
        return _done(store, outcome)
    received_s = datetime.fromisoformat(entry.received_at).timestamp()
    message = Incoming(
        entry.topic,
        events_pb2.EventBatch(events=[entry.raw]).SerializeToString(),
        received_s,
        retried=True,
    )
    result = process_batch([message], store, max_skew_s, time.time(), clock_flag_s=clock_flag_s)
    status = "accepted" if result.accepted else "duplicate" if result.duplicate else "rejected"
    return _done(store, Reingested(quarantine_id, checked.event_id, status))


def _done(store: Store, outcome: Reingested) -> Reingested:
    text = outcome.outcome + (f": {outcome.reason}" if outcome.reason else "")
    store.mark_reingested(outcome.quarantine_id, now_iso(), text[:500])
    return outcome
