"""bench/ingest: events/s end to end (outbox → Mosquitto → hub → SQLite → receipt), with baselines.

Run: ``.venv/bin/python -m bench.ingest`` (``--help`` for sizes). Measures, in one run:
- baseline (a): bare paho-mqtt QoS 1 publish → subscribe through the same Mosquitto,
  50 publishers in 2 processes, one subscriber;
- baseline (b): sqlite-utils ``insert_all`` of the same rows the hub stores;
- the pipeline: 50 stations (outbox + uplink, 25 per process, outboxes filled
  beforehand) → Mosquitto → a ``puente hub`` process → SQLite → receipts back,
  timed until every outbox is empty; target ≥ 0.7 × the smaller baseline;
- latency from event creation to its receipt back at the station (an upper
  bound of creation → hub commit) at 10 % of the measured rate;
- outbox appends/s with per-call durability (one caller; 32 concurrent threads; 32
  coroutines on one event loop awaiting ``append_async``, as the agent's HTTP routes);
- the agent's idle RSS and CPU (a ``puente agent`` process with a simulated monitor);
- recovery (``bench/ingest_recovery.py``): drain of a backlog after a broker outage and catch-up
  after a 3 s blip, as ratios of the pipeline's rate; reconnect times; latency at 10 % load
  split by stage. ``--quick`` for a short run.

``--store postgres --workers 1,2,3`` runs instead the pipeline on PostgreSQL with 1..N ingest
worker processes against one SQLite hub, the bare paho pipe and bare psycopg inserts of the same
rows (``bench/ingest_workers.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing as mp
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.agent_idle import agent_idle, print_idle

STATIONS = 50
UNIT = "unit-bench"


def _event(case_id: str, n: int) -> Any:
    """The same clinical fact the end-to-end tests record."""
    from tests.e2e.processes import vitals_request

    return vitals_request(case_id, n).event


def _built_event(station_id: str, n: int) -> Any:
    from edge_agent.events import build_event

    sample = _event(f"CASE-{n % 97}", n)
    return build_event(
        station_id=station_id,
        unit_id=UNIT,
        payload_name="vital_signs",
        payload=sample.vital_signs,
        device_id="monitor-1",
        case_id=sample.case_id,
        patient_id=sample.patient_id,
    )


# -- baseline (a): bare paho pipe --------------------------------------------------------------


def _paho_publishers(
    port: int, first: int, count: int, per_client: int, size: int, go: Any
) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    clients = []
    for i in range(first, first + count):
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"bare-pub-{i}", protocol=mqtt.MQTTv311
        )
        c.max_inflight_messages_set(100)
        c.connect("127.0.0.1", port)
        c.loop_start()
        clients.append(c)
    payload = os.urandom(size)
    go.wait()
    infos = []
    for _ in range(per_client):
        for i, c in enumerate(clients):
            infos.append(c.publish(f"bare/{first + i}", payload, qos=1))
    for info in infos:
        info.wait_for_publish(60)
    for c in clients:
        c.disconnect()
        c.loop_stop()


def bare_paho(port: int, total: int, size: int) -> float:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    received = 0
    done = threading.Event()

    def on_message(_c: Any, _u: Any, _m: Any) -> None:
        nonlocal received
        received += 1
        if received >= total:
            done.set()

    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bare-sub", protocol=mqtt.MQTTv311)
    sub.on_message = on_message
    sub.connect("127.0.0.1", port)
    sub.subscribe("bare/#", qos=1)
    sub.loop_start()
    time.sleep(0.5)
    ctx = mp.get_context("spawn")
    go = ctx.Event()
    per_client = total // STATIONS
    half = STATIONS // 2
    procs = [
        ctx.Process(target=_paho_publishers, args=(port, 0, half, per_client, size, go)),
        ctx.Process(
            target=_paho_publishers, args=(port, half, STATIONS - half, per_client, size, go)
        ),
    ]
    for p in procs:
        p.start()
    time.sleep(3.0)  # publishers connected
    start = time.perf_counter()
    go.set()
    done.wait(300)
    elapsed = time.perf_counter() - start
    for p in procs:
        p.join(60)
    sub.disconnect()
    sub.loop_stop()
    return per_client * STATIONS / elapsed


# -- baseline (b): sqlite-utils insert_all -----------------------------------------------------


def bare_sqlite(workdir: Path, total: int) -> float:
    import sqlite_utils
    from google.protobuf import json_format

    rows = []
    for n in range(total):
        event = _built_event(f"station-{n % STATIONS}", n)
        event.station_seq = n // STATIONS + 1
        rows.append(
            {
                "event_id": event.event_id,
                "station_id": event.station_id,
                "unit_id": event.unit_id,
                "device_id": event.device_id,
                "case_id": event.case_id,
                "patient_id": event.patient_id,
                "kind": "vital_signs",
                "occurred_at": event.occurred_at.ToJsonString(),
                "station_seq": event.station_seq,
                "received_at": event.occurred_at.ToJsonString(),
                "clock_offset_ms": 0,
                "payload_json": json_format.MessageToJson(event.vital_signs, indent=None),
                "raw": event.SerializeToString(),
            }
        )
    db = sqlite_utils.Database(workdir / "bare.sqlite3")
    db.enable_wal()
    db.execute("PRAGMA synchronous=FULL")
    start = time.perf_counter()
    db["events"].insert_all(rows, pk="event_id", batch_size=500)
    elapsed = time.perf_counter() - start
    return total / elapsed


# -- the pipeline --------------------------------------------------------------------------


def _stations_worker(
    indexes: list[int],
    broker_url: str,
    root: str,
    per_station: int,
    ready: Any,
    go: Any,
    results: Any,
    latency_rate: Any,
    latency_seconds: float,
) -> None:
    from bench.ingest_recovery import timed_classes
    from edge_agent.settings import AgentSettings

    deleted_at: dict[str, float] = {}
    durable: dict[str, float] = {}
    published: dict[str, float] = {}
    committed: dict[str, float] = {}
    receipted: dict[str, float] = {}
    TimedOutbox, TimedUplink = timed_classes(deleted_at, published, committed, receipted, [])

    stations = []
    for i in indexes:
        settings = AgentSettings(
            station_id=f"station-{i}",
            unit_id=UNIT,
            data_dir=Path(root) / f"station-{i}",
            broker_url=broker_url,
        )
        outbox = TimedOutbox(
            settings.outbox_path,
            limit_bytes=settings.outbox_limit_bytes,
            hard_limit_bytes=settings.outbox_hard_limit_bytes,
            group_commit_max=settings.group_commit_max,
        ).open()
        futures = [outbox.submit(_built_event(settings.station_id, n)) for n in range(per_station)]
        for f in futures:
            f.result()
        stations.append((settings, outbox))
    ready.put(len(indexes))
    go.wait()
    uplinks = [TimedUplink(s, o) for s, o in stations]
    for u in uplinks:
        u.start()
    while any(o.depth()[0] for _, o in stations):
        time.sleep(0.005)
    results.put(("drained", time.time()))

    # Latency at a paced rate: creation time is the event's occurred_at.
    rate = latency_rate.get()  # events/s for this worker
    created: dict[str, float] = {}
    interval = 1.0 / rate
    next_at = time.monotonic()
    end = next_at + latency_seconds
    n = 0
    while time.monotonic() < end:
        settings, outbox = stations[n % len(stations)]
        event = _built_event(settings.station_id, n)
        created[event.event_id] = event.occurred_at.ToNanoseconds() / 1e9
        event_id = event.event_id
        outbox.submit(event).add_done_callback(
            lambda _f, e=event_id: durable.setdefault(e, time.time())
        )
        n += 1
        next_at += interval
        pause = next_at - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    deadline = time.monotonic() + 30
    while any(o.depth()[0] for _, o in stations) and time.monotonic() < deadline:
        time.sleep(0.01)
    latencies = [deleted_at[e] - t for e, t in created.items() if e in deleted_at]
    stats = {
        "created": created,
        "durable": durable,
        "published": {e: published[e] for e in created if e in published},
        "committed": {e: committed[e] for e in created if e in committed},
        "receipted": {e: receipted[e] for e in created if e in receipted},
        "deleted": {e: deleted_at[e] for e in created if e in deleted_at},
    }
    results.put(("latency", (latencies, stats)))
    for u in uplinks:
        u.stop()
    for _, o in stations:
        o.close()


def pipeline(broker_url: str, workdir: Path, total: int, latency_seconds: float) -> dict[str, Any]:
    from bench.ingest_recovery import split
    from tests.e2e.processes import Hub

    hub = Hub(workdir / "hub", broker_url, secrets.token_urlsafe(16), log_level="WARNING").start()
    try:
        for i in range(STATIONS):
            hub.register_station(f"station-{i}", UNIT)
        ctx = mp.get_context("spawn")
        ready, results, rates = ctx.Queue(), ctx.Queue(), ctx.Queue()
        go = ctx.Event()
        per_station = total // STATIONS
        halves = [list(range(0, STATIONS // 2)), list(range(STATIONS // 2, STATIONS))]
        procs = [
            ctx.Process(
                target=_stations_worker,
                args=(
                    h,
                    broker_url,
                    str(workdir),
                    per_station,
                    ready,
                    go,
                    results,
                    rates,
                    latency_seconds,
                ),
            )
            for h in halves
        ]
        for p in procs:
            p.start()
        for _ in procs:
            ready.get(timeout=600)
        start = time.time()
        go.set()
        finished = [results.get(timeout=600) for _ in procs]
        elapsed = max(t for _, t in finished) - start
        stored = hub.query("SELECT count(*) FROM events")[0][0]
        throughput = per_station * STATIONS / elapsed
        for h in halves:
            rates.put(throughput * 0.10 * len(h) / STATIONS)
        latencies: list[float] = []
        stats: dict[str, dict[str, float]] = {}
        for _ in procs:
            _kind, (values, part) = results.get(timeout=120)
            latencies.extend(values)
            for key, notes in part.items():
                stats.setdefault(key, {}).update(notes)
        received = {
            e: datetime.fromisoformat(r.replace("Z", "+00:00")).timestamp()
            for e, r in hub.query("SELECT event_id, received_at FROM events")
            if e in stats["created"]
        }
        for p in procs:
            p.join(60)
        latencies.sort()
        return {
            "events": per_station * STATIONS,
            "stored": stored,
            "events_per_s": throughput,
            "latency_rate_per_s": throughput * 0.10,
            "latency_samples": len(latencies),
            "latency_p50_ms": 1000 * statistics.median(latencies) if latencies else None,
            "latency_p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))]
            if latencies
            else None,
            "latency_split": split(stats, received) if stats.get("created") else None,
        }
    finally:
        hub.stop()


# -- outbox appends and agent idle --------------------------------------------------------


_IDS = itertools.count()


def _fresh_event(template: Any) -> Any:
    """A copy of ``template`` with a new id: the per-event work of a caller, cheap and fair."""
    event = type(template)()
    event.CopyFrom(template)
    event.event_id = f"{template.event_id[:20]}-{next(_IDS):012d}"
    return event


def _append_until(outbox: Any, template: Any, stop: float, counts: list[int], k: int) -> None:
    n = 0
    while time.monotonic() < stop:
        outbox.append(_fresh_event(template))
        n += 1
    counts[k] += n


def _raw_sqlite_until(
    conn: Any, template: Any, stop: float, batch: int, first: int, sync_s: float = 0.0
) -> int:
    """Baseline: the outbox's own table and pragmas, one thread, ``batch`` rows per fsync
    (and a sleep of ``sync_s`` after each COMMIT, see ``outbox_appends``)."""
    n = 0
    while time.monotonic() < stop:
        conn.execute("BEGIN IMMEDIATE")
        for _ in range(batch):
            event = _fresh_event(template)
            n += 1
            event.station_seq = first + n
            body = event.SerializeToString()
            conn.execute(
                "INSERT INTO outbox(seq, event_id, critical, size, created_at, body) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (first + n, event.event_id, 1, len(body), time.time(), body),
            )
        conn.execute("COMMIT")
        if sync_s:
            time.sleep(sync_s)
    return n


def outbox_class_of(tree: Path) -> Any:
    """The ``Outbox`` class of another checkout (``tree/edge_agent/outbox.py``), to run it
    beside this one in the same process; its imports resolve to this checkout's modules."""
    import importlib.util
    import sys

    name = "_bench_before_outbox"
    spec = importlib.util.spec_from_file_location(name, tree / "edge_agent" / "outbox.py")
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"no edge_agent/outbox.py under {tree}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.Outbox


def _with_fixed_sync(cls: Any, sync_s: float) -> Any:
    """``cls`` with a sleep of ``sync_s`` after every append COMMIT (see outbox_appends)."""

    def _commit(self: Any, conn: Any) -> None:
        cls._commit(self, conn)
        time.sleep(sync_s)

    return type(cls.__name__, (cls,), {"_commit": _commit})


def _cpu_s() -> float:
    """CPU time of this process (every thread), user + system."""
    times = os.times()
    return times.user + times.system


def _box_slice(outbox: Any, template: Any, seconds: float, callers: int) -> tuple[int, float]:
    """``callers`` threads appending for ``seconds``: (appends, seconds taken)."""
    counts = [0] * callers
    stop = time.monotonic() + seconds
    threads = [
        threading.Thread(target=_append_until, args=(outbox, template, stop, counts, k))
        for k in range(callers)
    ]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts), time.perf_counter() - start


def _box_slice_async(outbox: Any, template: Any, seconds: float, callers: int) -> tuple[int, float]:
    """``callers`` coroutines on one asyncio event loop (run in this thread), each awaiting
    ``append_async`` for ``seconds``, as the agent's HTTP routes call it: (appends, seconds).
    """

    async def caller(stop: float) -> int:
        n = 0
        while time.monotonic() < stop:
            await outbox.append_async(_fresh_event(template))
            n += 1
        return n

    async def run() -> tuple[int, float]:
        stop = time.monotonic() + seconds
        start = time.perf_counter()
        counts = await asyncio.gather(*(caller(stop) for _ in range(callers)))
        return sum(counts), time.perf_counter() - start

    return asyncio.run(run())


# (figure, callers, how they call): threads block in ``append``; coroutines await
# ``append_async`` on one event loop, as the agent's HTTP routes do.
_OUTBOX_SIDES = (
    ("one_caller", 1, _box_slice),
    ("32_callers", 32, _box_slice),
    ("32_coroutines", 32, _box_slice_async),
)


def outbox_appends(
    workdir: Path, seconds: float, rounds: int = 5, before: Any = None, sync_s: float = 0.0
) -> dict[str, float]:
    """Durable appends/s vs raw SQLite on the same disk, interleaved slice by slice.

    One caller is compared with raw SQLite committing (fsync) every row; 32
    concurrent callers with raw SQLite committing 32 rows per fsync (the best
    group commit can do with 32 callers each waiting for its answer), twice: 32
    threads blocking in ``append`` (figure ``32_callers``) and 32 coroutines on one
    event loop awaiting ``append_async`` (``32_coroutines``, the agent's HTTP routes). Slices of
    ``seconds`` alternate ``rounds`` times, so a busy disk weighs on both sides.
    ``before`` (an ``Outbox`` class, see ``outbox_class_of``) adds a third side, an
    older outbox, in the same rounds (its slice before or after this one's, in turn):
    before/after from one run, figures ``before_*``. ``sync_s`` (for a ``workdir`` on
    tmpfs, where COMMIT does not wait for a disk) sleeps that long after every COMMIT on
    every side, a fixed stand-in for the fsync: the disk's swings out, the CPU costs kept.
    ``*_cpu_us``: CPU time of the process (all threads) per append, per side.
    """
    from edge_agent.metrics import AgentMetrics
    from edge_agent.outbox import _SCHEMA, Outbox, _connect

    template = _built_event("station-x", 0)
    out: dict[str, float] = {"load_average_start": os.getloadavg()[0]}
    sides = {"": Outbox} if before is None else {"": Outbox, "before_": before}
    if sync_s:
        sides = {side: _with_fixed_sync(cls, sync_s) for side, cls in sides.items()}
        out["fixed_sync_us"] = sync_s * 1e6
    for label, callers, box_slice in _OUTBOX_SIDES:
        raw = _connect(workdir / f"raw-{label}.sqlite3")
        raw.executescript(_SCHEMA)
        boxes = {
            side: cls(  # with its metrics, as the agent runs it
                workdir / f"appends-{side}{label}.sqlite3",
                limit_bytes=1 << 34,
                hard_limit_bytes=1 << 35,
                metrics=AgentMetrics(),
            ).open()
            for side, cls in sides.items()
        }
        raw_n = raw_t = raw_cpu = 0.0
        cpu = dict.fromkeys(boxes, 0.0)
        done = dict.fromkeys(boxes, 0)
        spent = dict.fromkeys(boxes, 0.0)
        ratios: dict[str, list[float]] = {side: [] for side in boxes}
        for round_ in range(rounds):
            start, cpu_start = time.perf_counter(), _cpu_s()
            n = _raw_sqlite_until(
                raw, template, time.monotonic() + seconds, callers, int(raw_n), sync_s
            )
            took = time.perf_counter() - start
            raw_cpu += _cpu_s() - cpu_start
            raw_n, raw_t = raw_n + n, raw_t + took
            for side in list(boxes)[:: 1 if round_ % 2 == 0 else -1]:
                cpu_start = _cpu_s()
                m, box_took = box_slice(boxes[side], template, seconds, callers)
                cpu[side] += _cpu_s() - cpu_start
                done[side] += m
                spent[side] += box_took
                ratios[side].append((m / box_took) / (n / took))
        out[f"{label}_raw"] = raw_n / raw_t
        out[f"{label}_raw_cpu_us"] = 1e6 * raw_cpu / max(1, raw_n)
        for side, outbox in boxes.items():
            out[f"{side}{label}"] = done[side] / spent[side]
            out[f"{side}{label}_ratio"] = statistics.median(ratios[side])
            out[f"{side}{label}_commits_per_append"] = outbox.commits / max(1, done[side])
            out[f"{side}{label}_cpu_us"] = 1e6 * cpu[side] / max(1, done[side])
            outbox.close()
        raw.close()
    out["load_average"] = os.getloadavg()[0]
    return out


def print_outbox(appends: dict[str, float]) -> None:
    print(
        f"load average {appends.get('load_average_start', appends['load_average']):.1f} → "
        f"{appends['load_average']:.1f} on {os.cpu_count()} cores: on a busy machine "
        "the one-thread raw loop gets one CPU share, 32 outbox callers 32 (and the disk's "
        "fsync time swings by 10 × from one second to the next): trust quiet-machine ratios"
    )
    if appends.get("fixed_sync_us"):
        print(
            f"on tmpfs, with a sleep of {appends['fixed_sync_us']:.0f} µs after every COMMIT "
            "on every side instead of the disk's fsync (--fixed-sync-us)"
        )
    for label, what, target in (
        ("one_caller", "one caller (a thread) vs raw SQLite, fsync per row", 0.8),
        ("32_callers", "32 threads blocking in append vs raw SQLite, 32 rows per fsync", 0.5),
        (
            "32_coroutines",
            "32 coroutines on one event loop awaiting append_async (the agent's HTTP "
            "routes) vs raw SQLite, 32 rows per fsync",
            0.5,
        ),
    ):
        if label not in appends:  # a results file from before the coroutine figure
            continue
        ratio = appends[f"{label}_ratio"]
        print(f"outbox durable appends, {what}:")
        print(
            f"  {appends[label]:>8,.0f}/s vs {appends[f'{label}_raw']:>8,.0f}/s = {ratio:.2f} × "
            f"(median of slices; target ≥ {target}) {'OK' if ratio >= target else 'BELOW TARGET'}"
            f"; {appends[f'{label}_commits_per_append']:.3f} fsyncs per append"
            + (
                f"; CPU {appends[f'{label}_cpu_us']:.1f} vs {appends[f'{label}_raw_cpu_us']:.1f}"
                " µs per append"
                if f"{label}_cpu_us" in appends
                else ""
            )
        )
        if f"before_{label}" in appends:  # --before: the older outbox, same slices
            before = appends[f"before_{label}"]
            print(
                f"  before (--before tree), same slices: {before:>8,.0f}/s = "
                f"{appends[f'before_{label}_ratio']:.2f} × raw; "
                f"{appends[f'before_{label}_commits_per_append']:.3f} fsyncs per append; "
                f"CPU {appends.get(f'before_{label}_cpu_us', float('nan')):.1f} µs per append; "
                f"now / before {appends[label] / before:.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="events in the timed runs")
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a short run (20k events, 3 s slices, smaller backlogs) to check that it works",
    )
    parser.add_argument(
        "--store",
        choices=["sqlite", "postgres"],
        default="sqlite",
        help="postgres: the worker-scaling run of bench/ingest_workers.py instead",
    )
    parser.add_argument("--workers", default="1,2,3", help="with --store postgres: counts")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "PUENTE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="with --store postgres: a server where the bench may create databases",
    )
    args = parser.parse_args()
    if args.store == "postgres":
        _workers_run(args)
        return
    if args.quick:
        args.events = min(args.events, 20_000)
        args.latency_seconds = min(args.latency_seconds, 3.0)
        args.idle_seconds = min(args.idle_seconds, 3.0)

    from tests.brokers import Mosquitto

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="puente-bench-") as tmp:
        workdir = Path(tmp)
        # The queue and in-flight bounds production runs (provisioning.mosquitto).
        broker = Mosquitto(workdir / "mosquitto", production_limits=True).start()
        try:
            size = len(_built_event("station-0", 0).SerializeToString())
            print(f"event size {size} B; {args.events} events; {STATIONS} stations")
            results["bare_paho_msgs_per_s"] = bare_paho(broker.port, args.events, size)
            print(f"(a) bare paho QoS1 pipe:   {results['bare_paho_msgs_per_s']:>10,.0f} msgs/s")
            results["bare_sqlite_rows_per_s"] = bare_sqlite(workdir, args.events)
            print(f"(b) sqlite-utils insert_all: {results['bare_sqlite_rows_per_s']:>8,.0f} rows/s")
            results["pipeline"] = pipe = pipeline(
                broker.url, workdir / "pipeline", args.events, args.latency_seconds
            )
            baseline = min(results["bare_paho_msgs_per_s"], results["bare_sqlite_rows_per_s"])
            ratio = pipe["events_per_s"] / baseline
            results["ratio_vs_smaller_baseline"] = ratio
            print(
                f"pipeline end to end:       {pipe['events_per_s']:>10,.0f} events/s "
                f"(stored {pipe['stored']:,} of {pipe['events']:,}) = {ratio:.2f} × smaller "
                f"baseline (target ≥ 0.70) {'OK' if ratio >= 0.7 else 'BELOW TARGET'}"
            )
            p50, p99 = pipe["latency_p50_ms"], pipe["latency_p99_ms"]
            print(
                f"latency creation → receipt at {pipe['latency_rate_per_s']:,.0f} events/s "
                f"(0.1 × the pipeline rate, same stations right after their drain): p50 "
                f"{p50:.1f} ms (target ≤ 30) {'OK' if p50 <= 30 else 'BELOW TARGET'}, p99 "
                f"{p99:.1f} ms (target ≤ 100) {'OK' if p99 <= 100 else 'BELOW TARGET'} "
                f"({pipe['latency_samples']} events; load average {os.getloadavg()[0]:.1f} on "
                f"{os.cpu_count()} cores)"
            )
            from bench.ingest_recovery import disk_alone, print_disk_alone, print_split

            if pipe["latency_split"]:
                print_split(pipe["latency_split"])

            results["pipeline_disk_alone"] = disk_alone(
                workdir / "pipeline-disk-alone", pipe["latency_rate_per_s"], args.latency_seconds
            )
            print_disk_alone(results["pipeline_disk_alone"], p50, p99)
            results["outbox"] = outbox_appends(workdir, 0.4, rounds=9)
            print_outbox(results["outbox"])
            results["agent_idle"] = idle = agent_idle(broker.url, workdir, args.idle_seconds)
            print_idle(idle)

            from bench.ingest_recovery import run as recovery

            steady = pipe["events_per_s"]  # the steady-state ingest rate of this run
            print(f"recovery and latency, against the steady rate {steady:,.0f} events/s:")
            results["recovery"] = recovery(workdir / "recovery", steady, args.quick)
        finally:
            broker.stop()
    out = Path("bench/results")
    out.mkdir(parents=True, exist_ok=True)
    (out / "ingest.json").write_text(json.dumps(results, indent=2))


def _workers_run(args: argparse.Namespace) -> None:
    from bench import ingest_workers

    total = min(args.events, 5_000) if args.quick else min(args.events, 20_000)
    if any(a.split("=")[0] == "--events" for a in sys.argv):  # an explicit size wins
        total = args.events
    counts = [int(w) for w in args.workers.split(",")]
    with tempfile.TemporaryDirectory(prefix="puente-bench-") as tmp:
        results = ingest_workers.run(Path(tmp), args.pg_url, counts, total)
    ingest_workers.report(results)
    out = Path("bench/results")
    out.mkdir(parents=True, exist_ok=True)
    (out / "ingest_workers.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
