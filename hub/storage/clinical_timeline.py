"""The case timeline as a clinician reads it: events without the per-second batches of
telemedicine streams, and each stream summarised once (start, end, parameters, min/max).

A stream at 1 Hz is 3,600 events an hour; listed one per row they pushed admission,
documents and confirmations out of the page. Here those batches (vital sets with a session
id) never take a timeline row; `sessions` gives one summary per session instead.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hub.storage import cursors
from hub.storage.base import Connections, Page, StoredEvent
from hub.storage.sqlite import _EVENT_COLUMNS, _event

_NOT_STREAM = (
    "NOT EXISTS (SELECT 1 FROM vital_sets v WHERE v.event_id = events.event_id "
    "AND v.session_id != '')"
)


@dataclass
class StreamSummary:
    session_id: str
    started_at: str
    ended_at: str | None  # the session_stop's time; None while running or cut off
    last_at: str
    station_id: str
    device_id: str
    batches: int
    # parameter -> (unit, readings, min, max)
    parameters: dict[str, tuple[str, int, float, float]] = field(default_factory=dict)


def timeline(store: Connections, case_id: str, limit: int, before: str | None) -> Page[StoredEvent]:
    """Newest first, like the store's case_timeline, without stream batches."""
    where, args = f"case_id = ? AND {_NOT_STREAM}", [case_id]
    if before:
        occurred_at, event_id = cursors.decode(before, 2)
        where += " AND (occurred_at, event_id) < (?, ?)"
        args += [occurred_at, event_id]
    rows = (
        store._conn()
        .execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE {where} "
            "ORDER BY occurred_at DESC, event_id DESC LIMIT ?",
            [*args, limit + 1],
        )
        .fetchall()
    )
    items = [_event(r) for r in rows[:limit]]
    last = items[-1] if len(rows) > limit else None
    return Page(items, cursors.encode([last.occurred_at, last.event_id]) if last else None)


def kinds(store: Connections, case_id: str) -> Counter[str]:
    """Events per kind, stream batches left out (they are counted as sessions)."""
    return Counter(
        dict(
            store._conn().execute(
                f"SELECT kind, count(*) FROM events WHERE case_id = ? AND {_NOT_STREAM} "
                "GROUP BY kind",
                (case_id,),
            )
        )
    )


def sessions(store: Connections, case_id: str) -> list[StreamSummary]:
    """One summary per telemedicine session of the case, oldest first."""
    conn = store._conn()
    out: dict[str, StreamSummary] = {}
    for sid, start, last, stop, station, device, batches in conn.execute(
        "SELECT session_id, min(occurred_at), max(occurred_at), "
        "max(CASE WHEN mode = 'session_stop' THEN occurred_at END), min(station_id), "
        "min(device_id), count(*) FROM vital_sets WHERE case_id = ? AND session_id != '' "
        "GROUP BY session_id ORDER BY 2",
        (case_id,),
    ):
        out[sid] = StreamSummary(sid, start, stop, last, station, device, batches)
    for sid, parameter, unit, n, low, high in conn.execute(
        "SELECT v.session_id, r.parameter, min(r.unit), count(*), min(r.value), max(r.value) "
        "FROM vital_readings r JOIN vital_sets v ON v.event_id = r.event_id "
        "WHERE v.case_id = ? AND v.session_id != '' AND r.status = 'accepted' "
        "AND r.parameter != '' GROUP BY 1, 2",
        (case_id,),
    ):
        if sid in out:
            out[sid].parameters[parameter] = (unit, n, low, high)
    return list(out.values())


def session_tail(
    store: Connections, session_id: str, seconds: float = 120.0
) -> list[dict[str, Any]]:
    """The last ``seconds`` of a session's accepted readings (oldest first), for the live
    view's sparklines on page load."""
    conn = store._conn()
    last = conn.execute(
        "SELECT max(r.measured_at) FROM vital_readings r JOIN vital_sets v "
        "ON v.event_id = r.event_id WHERE v.session_id = ? AND r.status = 'accepted'",
        (session_id,),
    ).fetchone()[0]
    if last is None:
        return []
    from datetime import datetime, timedelta

    since = datetime.fromisoformat(last.replace("Z", "+00:00")) - timedelta(seconds=seconds)
    rows = conn.execute(
        "SELECT r.parameter, r.value, r.measured_at FROM vital_readings r JOIN vital_sets v "
        "ON v.event_id = r.event_id WHERE v.session_id = ? AND r.status = 'accepted' "
        "AND r.parameter != '' AND r.measured_at >= ? ORDER BY r.measured_at, r.id",
        (session_id, since.strftime("%Y-%m-%dT%H:%M:%S")),
    )
    return [
        {"parameter": p, "value": v, "measured_at": at, "status": "accepted"} for p, v, at in rows
    ]
