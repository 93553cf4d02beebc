"""bench/ingest --store postgres: the pipeline end to end on PostgreSQL with 1..N ingest workers,
against one SQLite hub, the bare paho pipe and bare psycopg inserts of the same rows, one run.

Run: ``.venv/bin/python -m bench.ingest --store postgres --workers 1,2,3`` (``--quick`` for a
short check; PostgreSQL from ``--pg-url`` or PUENTE_TEST_PG_URL, default the server on
127.0.0.1:5432; each database is created and dropped by the bench). Measures, in one run:
- baseline: the bare paho QoS 1 pipe (bench.ingest.bare_paho), 50 publishers, one subscriber;
- baseline: bare psycopg ``executemany`` and ``COPY`` of the same rows into a plain events
  table, batches of 100 (bench.store.bare_psycopg);
- SQLite: 50 stations (outbox + uplink, 2 processes, outboxes filled beforehand) → Mosquitto →
  one ``puente hub`` process → SQLite → receipts, timed until every outbox is empty;
- PostgreSQL: the same stations → N ``puente hub --role ingest`` processes sharing
  ``$share/hub/puente/v1/+/+/events`` → one database, for each N in ``--workers``.
"stations CPU" is the CPU of the two processes simulating the stations (s per 1k events, and
as a share of their two processes' wall time: near 100 % they, not the hub, set the rate).
Each pipeline run gets its own Mosquitto (a stopped worker's persistent session would keep its
turn of the shared messages) and, on PostgreSQL, its own database. Hub CPU is the hub
processes' own CPU time while the outboxes drain; the PostgreSQL backends' CPU (the
connections of that database, read from /proc) is printed beside it.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import secrets
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.ingest import STATIONS, UNIT, _stations_worker, bare_paho

TARGET_PG_VS_SQLITE = 0.7
TARGET_TWO_VS_ONE = 1.4


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a local process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def _broker(workdir: Path) -> Iterator[Any]:
    from tests.brokers import Mosquitto

    # The queue and in-flight bounds production runs (provisioning.mosquitto).
    broker = Mosquitto(workdir, production_limits=True).start()
    try:
        yield broker
    finally:
        broker.stop()


class _Workers:
    """N ``puente hub`` processes on one database; readiness from their own words."""

    def __init__(self, workdir: Path, broker_url: str, database_url: str, count: int) -> None:
        from tests.e2e.processes import Hub

        role = "both" if count == 1 and database_url.startswith("sqlite") else "ingest"
        self.hubs = [
            Hub(
                workdir / f"hub-{i}",
                broker_url,
                secrets.token_urlsafe(16),
                log_level="WARNING",
                database_url=database_url,
                role=role,
                shared_subscription=True,
            )
            for i in range(count)
        ]
        self.role = role

    def start(self) -> None:
        """Spawn every process, then wait (up to 3 minutes: imports are slow on a busy
        machine) until each answers /healthz (role both) or says it is subscribed (ingest)."""
        import httpx

        for hub in self.hubs:
            hub.spawn()
        deadline = time.monotonic() + 180
        for hub in self.hubs:
            log = hub.workdir / "hub.log"
            while True:
                hub.assert_alive()
                if self.role == "ingest":
                    if "ingest worker subscribed" in log.read_text(errors="replace"):
                        break
                else:
                    try:
                        if httpx.get(f"{hub.url}/healthz", timeout=1).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{hub.name} did not start:\n{hub.log_tail()}")
                time.sleep(0.1)

    def cpu_s(self) -> float:
        return sum(_cpu_s(h.proc.pid) for h in self.hubs if h.proc is not None)

    def stop(self) -> None:
        for hub in self.hubs:
            hub.stop()


def _scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """One process's /metrics as {(sample name, labels): value}."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _quantile(buckets: list[tuple[float, float]], q: float) -> float:
    """The q-quantile of a histogram's cumulative (upper bound, count) buckets, interpolated
    inside the bucket as Prometheus' histogram_quantile does."""
    total = buckets[-1][1] if buckets else 0.0
    if total <= 0:
        return float("nan")
    rank, lower, below = q * total, 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower
            inside = count - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, count
    return lower


def worker_figures(
    before: dict[tuple[str, tuple[tuple[str, str], ...]], float],
    after: dict[tuple[str, tuple[tuple[str, str], ...]], float],
) -> dict[str, Any]:
    """What one worker did between two scrapes of its /metrics: held events and retries,
    commits, events per commit, commit time p50/p99 (validate + commit, and the store's
    commit alone) and the store commit's stages (mean wall ms, and how much of it was this
    worker's own CPU)."""

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    def hist(name: str, **labels: str) -> list[tuple[float, float]]:
        rows = []
        for (sample, lab), value in after.items():
            if sample != f"{name}_bucket":
                continue
            rest = dict(lab)
            le = rest.pop("le")
            if rest != labels:
                continue
            rows.append((float(le), value - before.get((sample, lab), 0.0)))
        return sorted(rows)

    commits = delta("puente_hub_batch_commit_seconds_count")
    answered = delta("puente_hub_batch_events_sum")
    figures: dict[str, Any] = {
        "commits": commits,
        "events_per_commit": answered / max(delta("puente_hub_batch_events_count"), 1.0),
        "accepted": delta("puente_hub_events_total", outcome="accepted"),
        "duplicate": delta("puente_hub_events_total", outcome="duplicate"),
        "held": delta("puente_hub_events_total", outcome="held_out_of_order"),
        "held_retries": delta("puente_hub_held_retries_total"),
        "rendered": delta("puente_hub_payloads_rendered_total"),
        "batch_p50_ms": 1000 * _quantile(hist("puente_hub_batch_commit_seconds"), 0.5),
        "batch_p99_ms": 1000 * _quantile(hist("puente_hub_batch_commit_seconds"), 0.99),
        "after_commit_p50_ms": 1000 * _quantile(hist("puente_hub_after_commit_seconds"), 0.5),
        "after_commit_p99_ms": 1000 * _quantile(hist("puente_hub_after_commit_seconds"), 0.99),
        "store_p50_ms": 1000 * _quantile(hist("puente_hub_store_commit_seconds", stage="all"), 0.5),
        "store_p99_ms": 1000
        * _quantile(hist("puente_hub_store_commit_seconds", stage="all"), 0.99),
        "stages": {},
    }
    store_commits = delta("puente_hub_store_commit_seconds_count", stage="all")
    store_wall = delta("puente_hub_store_commit_seconds_sum", stage="all")
    store_cpu = delta("puente_hub_store_commit_cpu_seconds_total", stage="all")
    figures["store_wait_ms_per_commit"] = 1000 * (store_wall - store_cpu) / max(store_commits, 1)
    figures["round_trips_per_commit"] = delta("puente_hub_store_round_trips_total") / max(
        store_commits, 1
    )
    for (sample, lab), _ in after.items():
        if sample != "puente_hub_store_commit_seconds_count":
            continue
        stage = dict(lab)["stage"]
        n = delta(sample, stage=stage)
        if n <= 0:
            continue
        wall = delta("puente_hub_store_commit_seconds_sum", stage=stage)
        cpu = delta("puente_hub_store_commit_cpu_seconds_total", stage=stage)
        figures["stages"][stage] = {
            "mean_ms": 1000 * wall / n,
            "cpu_share": cpu / wall if wall else 0.0,
        }
    return figures


def pipeline(
    workdir: Path,
    database_url: str,
    workers: int,
    total: int,
    stored: Callable[[], int],
    backend_cpu_s: Callable[[], float] = lambda: 0.0,
) -> dict[str, float]:
    """events/s, hub CPU s per 1k events (and the database backends' where known)."""
    from hub.settings import HubSettings
    from hub.storage import open_store

    store = open_store(HubSettings(data_dir=workdir / "setup", database_url=database_url))
    store.migrate()
    for i in range(STATIONS):
        store.register_station(f"station-{i}", UNIT, "2026-01-01T00:00:00.000000Z")
    store.close()
    with _broker(workdir / "mosquitto") as broker:
        hubs = _Workers(workdir, broker.url, database_url, workers)
        try:
            hubs.start()
            ctx = mp.get_context("spawn")
            ready, results, rates = ctx.Queue(), ctx.Queue(), ctx.Queue()
            go = ctx.Event()
            per_station = total // STATIONS
            halves = [list(range(0, STATIONS // 2)), list(range(STATIONS // 2, STATIONS))]
            procs = [
                ctx.Process(
                    target=_stations_worker,
                    args=(h, broker.url, str(workdir), per_station, ready, go, results, rates, 0),
                )
                for h in halves
            ]
            for p in procs:
                p.start()
            for _ in procs:
                ready.get(timeout=600)

            def stations_cpu_s() -> float:
                return sum(_cpu_s(p.pid) for p in procs if p.pid is not None)

            def broker_cpu_s() -> float:
                return _cpu_s(broker.proc.pid) if broker.proc is not None else 0.0

            cpu0, db0, st0 = hubs.cpu_s(), backend_cpu_s(), stations_cpu_s()
            br0 = broker_cpu_s()
            scraped = [_scrape(h.url) for h in hubs.hubs]
            start = time.time()
            go.set()
            finished = [results.get(timeout=900) for _ in procs]
            elapsed = max(t for _, t in finished) - start
            cpu, db = hubs.cpu_s() - cpu0, backend_cpu_s() - db0
            stations_cpu = stations_cpu_s() - st0
            broker_cpu = broker_cpu_s() - br0
            per_worker = [
                worker_figures(b, _scrape(h.url)) for b, h in zip(scraped, hubs.hubs, strict=True)
            ]
            for _ in procs:
                rates.put(1.0)  # no paced latency phase here (bench.ingest measures it)
            for _ in procs:
                results.get(timeout=120)
            for p in procs:
                p.join(60)
            events = per_station * STATIONS
            return {
                "events": events,
                "stored": stored(),
                "events_per_s": events / elapsed,
                "hub_cpu_s_per_1k": 1000 * cpu / events,
                "db_cpu_s_per_1k": 1000 * db / events,
                # the two processes simulating the 50 stations: of their 2 × elapsed CPU-s
                "stations_cpu_s_per_1k": 1000 * stations_cpu / events,
                "stations_busy": stations_cpu / (len(procs) * elapsed),
                "load_average": os.getloadavg()[0],
                "broker_cpu_s_per_1k": 1000 * broker_cpu / events,
                # cores this pipeline kept busy (hub processes, database backends, stations,
                # broker): near the machine's count, CPU bounds the rate, not a wait
                "cores_busy": (cpu + db + stations_cpu + broker_cpu) / elapsed,
                "per_worker": per_worker,
                # one commit's server side: the database backends' CPU per ingest commit, and
                # per commit the store's time its writer thread did not spend on CPU
                # (waiting for the server, the WAL flush, the GIL)
                "db_cpu_ms_per_commit": 1000 * db / max(sum(w["commits"] for w in per_worker), 1),
                "store_wait_ms_per_commit": statistics.fmean(
                    [w["store_wait_ms_per_commit"] for w in per_worker]
                ),
            }
        finally:
            hubs.stop()


def _pg_backends_cpu(admin: Any, name: str) -> Callable[[], float]:
    """CPU seconds of the server processes serving database ``name`` (a local server)."""

    def cpu() -> float:
        pids = [
            r[0]
            for r in admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,)
            ).fetchall()
        ]
        total = 0.0
        for pid in pids:
            with contextlib.suppress(OSError):  # ended, or the server is on another machine
                total += _cpu_s(pid)
        return total

    return cpu


def run(workdir: Path, pg_url: str, counts: list[int], total: int) -> dict[str, Any]:
    import psycopg

    from bench.store import _rows, bare_psycopg

    results: dict[str, Any] = {"events": total, "workers": counts, "cpus": os.cpu_count()}
    results["load_average_start"] = os.getloadavg()
    admin = psycopg.connect(pg_url, autocommit=True)
    base = pg_url.rpartition("/")[0]
    made: list[str] = []

    def fresh_pg() -> tuple[str, str]:
        name = f"puente_bench_{uuid.uuid4().hex[:10]}"
        admin.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return name, f"{base}/{name}"

    try:
        with _broker(workdir / "bare-mosquitto") as broker:
            from bench.ingest import _built_event

            size = len(_built_event("station-0", 0).SerializeToString())
            results["event_size"] = size
            results["bare_paho_msgs_per_s"] = bare_paho(broker.port, total, size)
        _, url = fresh_pg()
        many, copied = bare_psycopg(url, _rows(total))
        results["bare_executemany_per_s"], results["bare_copy_per_s"] = many, copied

        def sqlite_count(path: Path) -> Callable[[], int]:
            def count() -> int:
                import sqlite3

                con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
                try:
                    return int(con.execute("SELECT count(*) FROM events").fetchone()[0])
                finally:
                    con.close()

            return count

        lite_db = workdir / "sqlite" / "hub.sqlite3"
        lite_db.parent.mkdir(parents=True)
        results["sqlite x1"] = pipeline(
            workdir / "sqlite", f"sqlite:///{lite_db}", 1, total, sqlite_count(lite_db)
        )
        for n in counts:
            name, url = fresh_pg()

            def pg_count(url: str = url) -> int:
                with psycopg.connect(url) as conn:
                    row = conn.execute("SELECT count(*) FROM events").fetchone()
                    return int(row[0]) if row else 0

            results[f"postgres x{n}"] = pipeline(
                workdir / f"pg-{n}", url, n, total, pg_count, _pg_backends_cpu(admin, name)
            )
    finally:
        for name in made:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    results["load_average_end"] = os.getloadavg()
    return results


def report(results: dict[str, Any]) -> None:
    total, counts = results["events"], results["workers"]
    la0, la1 = results["load_average_start"], results["load_average_end"]
    print(
        f"{total:,} events of {results['event_size']} B from {STATIONS} stations; "
        f"{results['cpus']} cores; load average {la0[0]:.1f} at start, {la1[0]:.1f} at end "
        "(a shared machine: ratios hold better than absolute rates)"
    )
    paho, many = results["bare_paho_msgs_per_s"], results["bare_executemany_per_s"]
    print(f"baseline bare paho QoS 1 pipe:          {paho:>9,.0f} msgs/s")
    print(f"baseline bare psycopg executemany/100:  {many:>9,.0f} rows/s")
    print(f"baseline bare psycopg COPY/100:         {results['bare_copy_per_s']:>9,.0f} rows/s")
    print(
        f"{'pipeline':<14}{'events/s':>10}{'stored':>9}{'hub CPU s/1k':>14}"
        f"{'PG CPU s/1k':>13}{'stations CPU':>14}{'vs paho':>9}{'vs executemany':>16}{'load':>6}"
    )
    for name in ["sqlite x1", *[f"postgres x{n}" for n in counts]]:
        r = results[name]
        db = f"{r['db_cpu_s_per_1k']:13.3f}" if name.startswith("postgres") else f"{'-':>13}"
        print(
            f"{name:<14}{r['events_per_s']:10,.0f}{r['stored']:9,}{r['hub_cpu_s_per_1k']:14.3f}"
            f"{db}{r['stations_cpu_s_per_1k']:8.3f} {100 * r['stations_busy']:3.0f} %"
            f"{r['events_per_s'] / paho:9.2f}{r['events_per_s'] / many:16.2f}"
            f"{r['load_average']:6.1f}"
        )
        print(
            f"  broker CPU {r['broker_cpu_s_per_1k']:.3f} s/1k; cores busy with this pipeline "
            f"(hub, database, stations, broker) {r['cores_busy']:.2f} of {results['cpus']}"
        )
        if name.startswith("postgres"):
            print(
                f"  one commit's server side: PG backends' CPU {r['db_cpu_ms_per_commit']:.1f} ms "
                f"per commit; store commit not on the writer's CPU (server, WAL flush, GIL) "
                f"{r['store_wait_ms_per_commit']:.1f} ms per commit"
            )
        for i, w in enumerate(r.get("per_worker", [])):
            stages = ", ".join(
                f"{k} {v['mean_ms']:.1f} ms ({100 * v['cpu_share']:.0f} % CPU)"
                for k, v in w["stages"].items()
                if k != "all"
            )
            hooks = f"{w['after_commit_p50_ms']:.1f}/{w['after_commit_p99_ms']:.1f}"
            print(
                f"  worker {i + 1}: {w['commits']:,.0f} commits, {w['events_per_commit']:.0f} "
                f"events/commit, held {w['held']:,.0f} events, held retries "
                f"{w['held_retries']:,.0f} msgs, rendered {w['rendered']:,.0f}; commit p50/p99 "
                f"{w['batch_p50_ms']:.1f}/{w['batch_p99_ms']:.1f} ms (store "
                f"{w['store_p50_ms']:.1f}/{w['store_p99_ms']:.1f}, after-commit hooks {hooks}, "
                f"{w['round_trips_per_commit']:.1f} round trips to the database per commit)"
                + (f"; store stages: {stages}" if stages else "")
            )
        if r["stored"] != r["events"]:
            print(f"  {name}: stored {r['stored']:,} of {r['events']:,}: SOMETHING WAS LOST")
    lite = results["sqlite x1"]["events_per_s"]
    one = results.get("postgres x1", {}).get("events_per_s")
    if one:
        ratio = one / lite
        results["pg1_vs_sqlite1"] = ratio
        print(
            f"postgres x1 / sqlite x1 = {ratio:.2f} (target ≥ {TARGET_PG_VS_SQLITE}) "
            f"{'OK' if ratio >= TARGET_PG_VS_SQLITE else 'BELOW TARGET'}"
        )
        for n in counts:
            if n == 1:
                continue
            ratio = results[f"postgres x{n}"]["events_per_s"] / one
            results[f"pg{n}_vs_pg1"] = ratio
            target = f" (target ≥ {TARGET_TWO_VS_ONE}) " if n == 2 else " "
            verdict = ("OK" if ratio >= TARGET_TWO_VS_ONE else "BELOW TARGET") if n == 2 else ""
            print(f"postgres x{n} / x1 = {ratio:.2f}{target}{verdict}")
