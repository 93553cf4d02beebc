"""The vitals section of a case page read without loading every reading: a summary per
parameter (count, min, max, last, outside the shown range), the newest readings, the
rejected ones and the ones that need a word (assigned from an inbox, flagged).

A case with thousands of readings used to be read whole (and each reading's flags decoded)
before the page's first byte; these queries keep the page's work bounded by what it shows.
The chart series themselves are read with ``Readings.readings`` after the page is painted.
Portable SQL: the SQLite store and the PostgreSQL store (``?`` translated) answer the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hub.storage.readings import _READING_COLS, StoredReading, _flags

# A measured_at the charts can place: stored by this hub as 2025-03-01T14:05:09.123Z.
# Older hubs did not range-check it (year 36812...): such readings count as rejected.
PLACEABLE = "measured_at LIKE '____-__-__T%'"
_ACCEPTED = f"status = 'accepted' AND {PLACEABLE}"


def m690_readings_by_case_time(db: Any) -> None:
    # The newest readings of a case across parameters (the case page's table) by an index
    # scan, not a sort of every reading of the case.
    db.execute("CREATE INDEX vital_readings_case_time ON vital_readings(case_id, measured_at)")


@dataclass(frozen=True)
class ParameterSummary:
    parameter: str
    unit: str
    count: int
    min: float
    max: float
    last: float
    outside: int  # readings outside the (low, high) bound given for the parameter


def _reading(r: Any) -> StoredReading:
    return StoredReading(*r[:10], _flags(r[10]), *r[11:15])  # type: ignore[call-arg]  # mypy reads *row as filling every field


def summary(
    store: Any, case_id: str, bounds: Mapping[str, tuple[float, float]]
) -> list[ParameterSummary]:
    """Accepted readings per parameter; ``bounds``: parameter -> (low, high) counted outside."""
    outside, args = "0", []
    if bounds:
        whens = " ".join(
            "WHEN ? THEN CASE WHEN value < ? OR value > ? THEN 1 ELSE 0 END" for _ in bounds
        )
        outside = f"CASE parameter {whens} ELSE 0 END"
        for parameter, (low, high) in bounds.items():
            args += [parameter, float(low), float(high)]
    last = (
        "(SELECT v.value FROM vital_readings v WHERE v.case_id = ? AND v.parameter = r.parameter "
        f"AND v.status = 'accepted' AND v.{PLACEABLE} ORDER BY v.measured_at DESC, v.id DESC "
        "LIMIT 1)"
    )
    rows = (
        store._conn()
        .execute(
            f"SELECT parameter, MIN(unit), COUNT(*), MIN(value), MAX(value), SUM({outside}), "
            f"{last} FROM vital_readings r WHERE case_id = ? AND {_ACCEPTED} GROUP BY parameter",
            [*args, case_id, case_id],
        )
        .fetchall()
    )
    return [
        ParameterSummary(r[0], r[1], int(r[2]), float(r[3]), float(r[4]), float(r[6]), int(r[5]))
        for r in rows
    ]


def newest(store: Any, case_id: str, limit: int) -> list[StoredReading]:
    """The newest accepted readings, newest first."""
    rows = (
        store._conn()
        .execute(
            f"SELECT {_READING_COLS} FROM vital_readings WHERE case_id = ? AND {_ACCEPTED} "
            "ORDER BY measured_at DESC, id DESC LIMIT ?",
            [case_id, limit],
        )
        .fetchall()
    )
    return [_reading(r) for r in rows]


def rejected(store: Any, case_id: str) -> list[StoredReading]:
    """Readings refused at ingest, and accepted ones whose time cannot be placed."""
    rows = (
        store._conn()
        .execute(
            f"SELECT {_READING_COLS} FROM vital_readings WHERE case_id = ? "
            f"AND (status != 'accepted' OR NOT ({PLACEABLE})) ORDER BY measured_at, id",
            [case_id],
        )
        .fetchall()
    )
    return [_reading(r) for r in rows]


@dataclass(frozen=True)
class Noted:
    reading: StoredReading
    assigned_by: str | None  # who assigned it from a station's unassigned-readings inbox
    assigned_at: str | None


def noted(store: Any, case_id: str) -> list[Noted]:
    """Accepted readings assigned from an inbox or carrying any flag, oldest first."""
    cols = ", ".join(f"r.{c.strip()}" for c in _READING_COLS.split(","))
    rows = (
        store._conn()
        .execute(
            f"SELECT {cols}, s.mode, s.operator_id, s.occurred_at FROM vital_readings r "
            "JOIN vital_sets s ON s.event_id = r.event_id WHERE r.case_id = ? "
            "AND r.status = 'accepted' AND (s.mode = 'assigned' OR r.flags != '[]') "
            "ORDER BY r.measured_at, r.id",
            [case_id],
        )
        .fetchall()
    )
    out = []
    for r in rows:
        assigned = r[15] == "assigned"
        out.append(Noted(_reading(r), r[16] if assigned else None, r[17] if assigned else None))
    return out
