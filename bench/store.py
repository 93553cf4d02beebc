"""bench/store: the hub's storage alone — events/s and hub CPU per 1k events of `commit_ingest`
on SQLite and on PostgreSQL with 1..N concurrent workers, beside bare baselines of the same rows.

Run: ``.venv/bin/python -m bench.store --events 20000 --workers 1,2,3`` (PostgreSQL from
``--pg-url`` or PUENTE_TEST_PG_URL, default the server on 127.0.0.1:5432; a database is created
and dropped per run). Measures, in one run and on the same rows (vital-signs events of 50
stations, commits of 100 events (`--batch`), projections included):
- baseline: bare psycopg ``executemany`` and ``COPY`` of the rows into a plain events table;
- SQLite ``commit_ingest``, 1 worker (and N worker processes on the one file);
- PostgreSQL ``commit_ingest``, 1..N worker processes on one database.
Hub CPU is the workers' own process time (the PostgreSQL server's CPU is not in it). This is
the storage part of the issue's ``bench/ingest --store postgres`` (no broker, no receipts).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

STATIONS = 50
BATCH = 100
UNIT = "unit-bench"
T0 = "2026-01-01T00:00:00.000000Z"


def _rows(total: int) -> list[Any]:
    from bench.ingest import _built_event
    from hub.storage.base import EventRow

    rows = []
    for n in range(total):
        event = _built_event(f"station-{n % STATIONS}", n)
        event.station_seq = n // STATIONS + 1
        at = event.occurred_at.ToJsonString()
        rows.append(
            EventRow(
                event.event_id,
                event.station_id,
                UNIT,
                event.device_id,
                event.case_id,
                event.patient_id,
                "vital_signs",
                at,
                event.station_seq,
                at,
                0,
                event.SerializeToString(),
            )
        )
    return rows


def _open(url: str) -> Any:
    from hub.settings import HubSettings
    from hub.storage import open_store

    return open_store(HubSettings(database_url=url))


def _worker(url: str, batches: list[list[Any]], go: Any, out: Any) -> None:
    store = _open(url)
    trips_of = getattr(store, "last_commit_round_trips", None)  # PostgreSQL only
    trips = 0
    go.wait()
    cpu = time.process_time()
    for batch in batches:
        store.commit_ingest(batch, [], [])
        if trips_of is not None:
            trips += trips_of()
    out.put((time.process_time() - cpu, trips))
    store.close()


def run_store(url: str, rows: list[Any], workers: int, batch: int = BATCH) -> tuple[float, ...]:
    """(events/s, hub CPU seconds per 1k events, round trips to the server per commit) of
    `workers` processes sharing the rows, in commits of `batch` events."""
    store = _open(url)
    store.migrate()
    for s in range(STATIONS):
        store.register_station(f"station-{s}", UNIT, T0)
    store.close()
    batches = [rows[i : i + batch] for i in range(0, len(rows), batch)]
    ctx = mp.get_context("fork")
    go, out = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(url, batches[w::workers], go, out))
        for w in range(workers)
    ]
    for p in procs:
        p.start()
    time.sleep(0.5)  # every worker connected
    start = time.perf_counter()
    go.set()
    done = [out.get() for _ in procs]
    elapsed = time.perf_counter() - start
    for p in procs:
        p.join()
    cpu, trips = sum(d[0] for d in done), sum(d[1] for d in done)
    return len(rows) / elapsed, cpu / len(rows) * 1000, trips / len(batches)


def bare_psycopg(url: str, rows: list[Any], batch: int = BATCH) -> tuple[float, float]:
    """(executemany events/s, COPY events/s) of the same rows into a plain table."""
    import psycopg

    values = [
        (r.event_id, r.station_id, r.unit_id, r.device_id, r.case_id, r.patient_id, r.kind,
         r.occurred_at, r.station_seq, r.received_at, r.clock_offset_ms, r.raw)
        for r in rows
    ]  # fmt: skip
    ddl = (
        "CREATE TABLE {} (event_id TEXT PRIMARY KEY, station_id TEXT, unit_id TEXT, "
        "device_id TEXT, case_id TEXT, patient_id TEXT, kind TEXT, occurred_at TEXT, "
        "station_seq BIGINT, received_at TEXT, clock_offset_ms BIGINT, raw BYTEA)"
    )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(ddl.format("bare_many"))
        conn.execute(ddl.format("bare_copy"))
        start = time.perf_counter()
        for i in range(0, len(values), batch):
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO bare_many VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                    values[i : i + batch],
                )
        many = len(values) / (time.perf_counter() - start)
        start = time.perf_counter()
        for i in range(0, len(values), batch):
            with (
                conn.transaction(),
                conn.cursor() as cur,
                cur.copy("COPY bare_copy FROM STDIN") as copy,
            ):
                for v in values[i : i + batch]:
                    copy.write_row(v)
        copied = len(values) / (time.perf_counter() - start)
    return many, copied


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--workers", default="1,2,3", help="worker counts, e.g. 1,2,3")
    parser.add_argument("--batch", type=int, default=BATCH, help="events per commit")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "PUENTE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    import psycopg

    rows = _rows(args.events)
    admin = psycopg.connect(args.pg_url, autocommit=True)
    base = args.pg_url.rpartition("/")[0]
    results: dict[str, tuple[float, ...]] = {}
    made: list[str] = []
    try:

        def fresh_pg() -> str:
            name = f"puente_bench_{uuid.uuid4().hex[:10]}"
            admin.execute(f'CREATE DATABASE "{name}"')
            made.append(name)
            return f"{base}/{name}"

        many, copied = bare_psycopg(fresh_pg(), rows, args.batch)
        with tempfile.TemporaryDirectory() as tmp:
            for w in counts:
                path = Path(tmp) / f"hub-{w}.sqlite3"
                results[f"sqlite x{w}"] = run_store(f"sqlite:///{path}", rows, w, args.batch)
        for w in counts:
            results[f"postgres x{w}"] = run_store(fresh_pg(), rows, w, args.batch)
    finally:
        for name in made:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    print(
        f"events: {args.events}, commits of {args.batch}, {STATIONS} stations, "
        f"cpus: {os.cpu_count()}, load average: {os.getloadavg()}"
    )
    print(f"baseline psycopg executemany: {many:10.0f} events/s")
    print(f"baseline psycopg COPY:        {copied:10.0f} events/s")
    print(
        f"{'store':<14}{'events/s':>10}{'hub CPU s/1k':>14}{'vs executemany':>16}"
        f"{'round trips/commit':>20}"
    )
    for name, (rate, cpu, trips) in results.items():
        shown = f"{trips:20.1f}" if name.startswith("postgres") else f"{'-':>20}"
        print(f"{name:<14}{rate:10.0f}{cpu:14.3f}{rate / many:16.2f}{shown}")
    pg1, lite1 = results.get("postgres x1"), results.get("sqlite x1")
    if pg1 and lite1:
        print(f"postgres x1 / sqlite x1: {pg1[0] / lite1[0]:.2f} (target >= 0.7)")
    for w in counts[1:]:
        if pg1 and f"postgres x{w}" in results:
            ratio = results[f"postgres x{w}"][0] / pg1[0]
            print(f"postgres x{w} / x1: {ratio:.2f}")


if __name__ == "__main__":
    main()
