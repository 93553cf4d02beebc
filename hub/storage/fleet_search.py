"""The fleet page's query: stations filtered by text, unit, state and device problem, counted
and paginated in the database (112 units, thousands of stations), with fleet-wide totals.

A "device problem" is a device whose latest status report (by the station's sequence) is
disconnected, error or unsupported; read from the rendered payload JSON, so a report not yet
rendered (ingest busy) counts from the next idle moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.storage.base import Connections

STATES = ("online", "offline", "retired")
PROBLEM_STATES = ("DISCONNECTED", "ERROR", "UNSUPPORTED")

_PROBLEM_STATIONS = (
    "SELECT e.station_id FROM events e WHERE e.kind = 'device_status' "
    "AND json_extract(e.payload_json, '$.state') IN ('DISCONNECTED', 'ERROR', 'UNSUPPORTED') "
    "AND e.station_seq = (SELECT max(x.station_seq) FROM events x WHERE x.station_id = "
    "e.station_id AND x.device_id = e.device_id AND x.kind = 'device_status')"
)

_STATE_SQL = {
    "online": "s.retired_at IS NULL AND s.online = 1",
    "offline": "s.retired_at IS NULL AND s.online = 0",
    "retired": "s.retired_at IS NOT NULL",
}


@dataclass(frozen=True)
class FleetQuery:
    text: str = ""  # part of a station id, unit id or unit name
    unit: str = ""
    state: str = ""  # online | offline | retired | ""
    problem: bool = False
    page: int = 1
    per_page: int = 50


@dataclass
class FleetPage:
    station_ids: list[str]
    matching: int
    totals: dict[str, int]  # online, offline, retired, problem (whole fleet)
    problem_ids: set[str]  # of the page's stations
    event_counts: dict[str, int]  # of the page's stations


def search(store: Connections, q: FleetQuery) -> FleetPage:
    conn = store._conn()
    where: list[str] = ["1 = 1"]
    args: list[Any] = []
    if q.text.strip():
        like = f"%{q.text.strip().lower()}%"
        where.append(
            "(lower(s.station_id) LIKE ? OR lower(s.unit_id) LIKE ? OR lower(coalesce(u.name, '')) "
            "LIKE ?)"
        )
        args += [like, like, like]
    if q.unit.strip():
        where.append("s.unit_id = ?")
        args.append(q.unit.strip())
    if q.state in _STATE_SQL:
        where.append(_STATE_SQL[q.state])
    if q.problem:
        where.append(f"s.station_id IN ({_PROBLEM_STATIONS})")
    sql = f"FROM stations s LEFT JOIN units u ON u.unit_id = s.unit_id WHERE {' AND '.join(where)}"
    matching = conn.execute(f"SELECT count(*) {sql}", args).fetchone()[0]
    ids = [
        r[0]
        for r in conn.execute(
            f"SELECT s.station_id {sql} ORDER BY s.unit_id, s.station_id LIMIT ? OFFSET ?",
            [*args, q.per_page, (q.page - 1) * q.per_page],
        )
    ]
    totals = {state: 0 for state in STATES}
    for state, n in conn.execute(
        "SELECT CASE WHEN retired_at IS NOT NULL THEN 'retired' WHEN online = 1 THEN 'online' "
        "ELSE 'offline' END, count(*) FROM stations GROUP BY 1"
    ):
        totals[state] = n
    problems = {r[0] for r in conn.execute(_PROBLEM_STATIONS)}
    totals["problem"] = len(problems)
    counts: dict[str, int] = {}
    if ids:
        marks = ",".join("?" * len(ids))
        counts = dict(
            conn.execute(
                f"SELECT station_id, count(*) FROM events WHERE station_id IN ({marks}) "
                "GROUP BY station_id",
                ids,
            ).fetchall()
        )
    return FleetPage(ids, matching, totals, problems & set(ids), counts)
