"""What the central station view reads: every running telemedicine session with each
parameter's latest reading, and the alarm acknowledgements (migration 623, audited).

Running: no ``session_stop`` yet and a batch within ``ACTIVE_WINDOW_S`` (older sessions
without an end were cut off; the case page still shows them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from hub.storage.base import Connections

ACTIVE_WINDOW_S = 15 * 60


def m623_alarm_acks(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE alarm_acks (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id TEXT NOT NULL,
            case_id TEXT NOT NULL,
            parameter TEXT NOT NULL,
            value REAL,
            acked_by TEXT NOT NULL,
            acked_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX alarm_acks_session ON alarm_acks(session_id, parameter, acked_at)")


def m624_session_alarm_limits(db: sqlite_utils.Database) -> None:
    # Limits a clinician set for one session (replacing the age group's defaults); each
    # change is a new row (who, when), the latest row per parameter applies.
    db.execute(
        """
        CREATE TABLE session_alarm_limits (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_id TEXT NOT NULL,
            parameter TEXT NOT NULL,
            low REAL,
            high REAL,
            set_by TEXT NOT NULL,
            set_at TEXT NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX session_alarm_limits_s ON session_alarm_limits(session_id, id)")


@dataclass
class RunningSession:
    session_id: str
    case_id: str
    patient_id: str
    unit_id: str
    station_id: str
    started_at: str
    last_at: str
    # parameter -> (value, measured_at)
    latest: dict[str, tuple[float, str]] = field(default_factory=dict)
    # parameter -> acked_at of the latest acknowledgement
    acked: dict[str, str] = field(default_factory=dict)
    # parameter -> (low, high) set for this session by a clinician
    limits: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)


def running(
    store: Connections, unit: str = "", now: datetime | None = None
) -> list[RunningSession]:
    conn = store._conn()
    since = (now or datetime.now(UTC)) - timedelta(seconds=ACTIVE_WINDOW_S)
    args: list[Any] = [since.strftime("%Y-%m-%dT%H:%M:%S")]
    having = "max(occurred_at) >= ? AND sum(CASE WHEN mode = 'session_stop' THEN 1 ELSE 0 END) = 0"
    where = "session_id != ''"
    if unit:
        where += " AND unit_id = ?"
        args.insert(0, unit)
    out: dict[str, RunningSession] = {}
    for row in conn.execute(
        "SELECT session_id, min(case_id), min(patient_id), min(unit_id), min(station_id), "
        f"min(occurred_at), max(occurred_at) FROM vital_sets WHERE {where} "
        f"GROUP BY session_id HAVING {having} ORDER BY min(unit_id), min(occurred_at)",
        args,
    ):
        out[row[0]] = RunningSession(*row)
    if not out:
        return []
    ids = list(out)
    marks = ",".join("?" * len(ids))
    for sid, parameter, value, at in conn.execute(
        "SELECT v.session_id, r.parameter, r.value, r.measured_at FROM vital_readings r "
        "JOIN vital_sets v ON v.event_id = r.event_id WHERE r.id IN ("
        "SELECT max(r2.id) FROM vital_readings r2 JOIN vital_sets v2 ON v2.event_id = r2.event_id "
        f"WHERE v2.session_id IN ({marks}) AND r2.status = 'accepted' AND r2.parameter != '' "
        "GROUP BY v2.session_id, r2.parameter)",
        ids,
    ):
        out[sid].latest[parameter] = (value, at)
    for sid, parameter, at in conn.execute(
        "SELECT session_id, parameter, max(acked_at) FROM alarm_acks "
        f"WHERE session_id IN ({marks}) GROUP BY session_id, parameter",
        ids,
    ):
        out[sid].acked[parameter] = at
    for sid, parameter, low, high in conn.execute(
        "SELECT session_id, parameter, low, high FROM session_alarm_limits "
        f"WHERE session_id IN ({marks}) ORDER BY id",
        ids,
    ):
        out[sid].limits[parameter] = (low, high)  # the latest row wins
    return list(out.values())


def set_limits(
    store: Connections,
    session_id: str,
    parameter: str,
    low: float | None,
    high: float | None,
    who: str,
    at: str,
) -> None:
    with store._write() as conn:
        conn.execute(
            "INSERT INTO session_alarm_limits (session_id, parameter, low, high, set_by, set_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (session_id, parameter, low, high, who, at),
        )


def acknowledge(
    store: Connections,
    session_id: str,
    case_id: str,
    parameter: str,
    value: float | None,
    who: str,
    at: str,
) -> None:
    with store._write() as conn:
        conn.execute(
            "INSERT INTO alarm_acks (session_id, case_id, parameter, value, acked_by, acked_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (session_id, case_id, parameter, value, who, at),
        )
