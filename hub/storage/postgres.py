"""The PostgreSQL implementation of `Store` (psycopg 3 + psycopg_pool): the production store,
shared by several ingest workers and API processes.

The statements are SQLiteStore's (one SQL spelling for both engines, translated by
`hub.storage.pg_sql`); what differs is here: a connection pool instead of one connection
per thread, a write is a transaction on a borrowed connection (no process lock: PostgreSQL
serialises what must be), migrations under an advisory lock, and exactly-once ingest by the
unique ``event_id`` with ``ON CONFLICT DO NOTHING RETURNING`` in one statement that also
projects the vital signs and updates the stations (`_COMMIT_SQL`: a vital-signs batch is one
round trip to the server; plain inserts of the other projections go by COPY, pg_sql): when
two workers commit the same event at once, the second waits on the key and learns it is a
duplicate, so it neither projects it twice nor reports it new. The per-station ordering gate
reads the last stored ``station_seq`` from the database (`last_station_seqs`), so it holds
across workers.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from hub.storage import heartbeat, pg_schema, projections
from hub.storage.base import EventRow, QuarantineRow, StationSeen, StationStateUpdate
from hub.storage.biometrics import SQLiteTemplateVault, TemplateVault
from hub.storage.dispensing import SQLiteDispensing
from hub.storage.payloads import render_rows
from hub.storage.pg_sql import Connection, PooledConnection
from hub.storage.readings import (
    _READING_COLS,
    _SET_COLS,
    MODE_SESSION_START,
    MODE_SESSION_STOP,
    ReadingsStore,
    SessionSpan,
    decode_row,
    reading_values,
    set_values,
)
from hub.storage.scans import SQLiteScans
from hub.storage.signatures import PendingRevision, SQLiteSignatures
from hub.storage.sqlite import SQLiteStore
from hub.storage.station_key_history import HistoricKey, KeyHistory, key_history_rows

log = logging.getLogger(__name__)

_EVENT_COLS = (
    "event_id, station_id, unit_id, device_id, case_id, patient_id, kind, occurred_at, "
    "station_seq, received_at, clock_offset_ms, raw, time_flag"
)
# One statement stores a batch (one round trip; on its own, in autocommit, its own transaction):
# the rows of every table arrive as JSON arrays (one parameter each, parsed once by the server),
# the events go in in batch order and only those not stored yet (``ON CONFLICT (event_id) DO
# NOTHING RETURNING``: a concurrent worker's copy waits on the unique key), the vital sets and
# readings of exactly those events (the readings projection, hub.storage.readings, folded in:
# same rows, same order), and the stations' last-seen times. Data-modifying CTEs run once and
# to completion; the readings' foreign key is checked at the end of the statement.
_COMMIT_SQL = (
    "WITH ins AS ("
    f"INSERT INTO events ({_EVENT_COLS}) "
    "SELECT r->>0, r->>1, r->>2, r->>3, r->>4, r->>5, r->>6, r->>7, (r->>8)::bigint, r->>9, "
    "(r->>10)::bigint, decode(r->>11, 'base64'), r->>12 "
    "FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS j(r, ord) ORDER BY ord "
    "ON CONFLICT (event_id) DO NOTHING RETURNING event_id), "
    "vs AS ("
    f"INSERT INTO vital_sets ({_SET_COLS}) "
    "SELECT r->>0, r->>1, r->>2, r->>3, r->>4, r->>5, r->>6, r->>7, r->>8, r->>9, r->>10 "
    "FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS j(r, ord) "
    "WHERE r->>0 IN (SELECT event_id FROM ins) ORDER BY ord ON CONFLICT DO NOTHING), "
    "vr AS ("
    f"INSERT INTO vital_readings ({_READING_COLS}) "
    "SELECT r->>0, r->>1, r->>2, (r->>3)::integer, r->>4, r->>5, (r->>6)::double precision, "
    "r->>7, r->>8, r->>9, r->>10, r->>11, r->>12, r->>13, r->>14 "
    "FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS j(r, ord) "
    "WHERE r->>0 IN (SELECT event_id FROM ins) ORDER BY ord), "
    "st AS ("
    "UPDATE stations SET last_seen_at = r->>1, clock_offset_ms = (r->>2)::bigint, "
    "clock_offset_known = (r->>3)::integer "
    "FROM jsonb_array_elements(%s::jsonb) AS j(r) WHERE stations.station_id = r->>0) "
    "SELECT event_id FROM ins"
)
# The projections this statement does (PROJECTIONS of these kinds run in it, not after it).
_FOLDED = frozenset({"vital_signs"})


class _Stages:
    """Wall and thread CPU time of a commit's stages, each from the previous mark."""

    def __init__(self) -> None:
        self.stages: dict[str, tuple[float, float]] = {}
        self._wall, self._cpu = time.perf_counter(), time.thread_time()

    def mark(self, stage: str) -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        was = self.stages.get(stage, (0.0, 0.0))
        self.stages[stage] = (was[0] + wall - self._wall, was[1] + cpu - self._cpu)
        self._wall, self._cpu = wall, cpu


def _json(rows: Sequence[Sequence[Any]]) -> str:
    return json.dumps(rows, separators=(",", ":"), ensure_ascii=False)


def _commit_params(
    events: Sequence[EventRow], seen: Sequence[StationSeen]
) -> tuple[str, str, str, str]:
    """The four JSON arrays of `_COMMIT_SQL`: events (raw in base64), the vital sets and
    readings of each event's first copy in the batch (a later copy is a duplicate, never
    projected), and one last-seen row per station (the last, as sequential updates)."""
    firsts: dict[str, EventRow] = {}
    for e in events:
        firsts.setdefault(e.event_id, e)
    sets: list[tuple[object, ...]] = []
    readings: list[tuple[object, ...]] = []
    for e in firsts.values():
        if e.kind != "vital_signs":
            continue
        decoded = decode_row(e)
        if decoded is not None:
            sets.append(set_values(decoded[0]))
            for r in decoded[1]:  # the value as COPY would send it (text, parsed as float8)
                v = reading_values(r)
                readings.append((*v[:6], repr(v[6]), *v[7:]))
    stations = {
        s.station_id: (s.station_id, s.last_seen_at, s.clock_offset_ms, int(s.known)) for s in seen
    }
    return (
        _json(
            [
                (
                    e.event_id,
                    e.station_id,
                    e.unit_id,
                    e.device_id,
                    e.case_id,
                    e.patient_id,
                    e.kind,
                    e.occurred_at,
                    e.station_seq,
                    e.received_at,
                    e.clock_offset_ms,
                    base64.b64encode(e.raw).decode("ascii"),
                    e.time_flag,
                )
                for e in events
            ]
        ),
        _json(sets),
        _json(readings),
        _json([stations[k] for k in sorted(stations)]),  # one lock order in every worker
    )


def _first_new(events: Sequence[EventRow], inserted: set[str]) -> list[bool]:
    """Per event of the batch, whether this statement stored it (a second copy of an event
    in the same batch is a duplicate)."""
    new: list[bool] = []
    for e in events:
        new.append(e.event_id in inserted)
        inserted.discard(e.event_id)
    return new


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


class PostgresStore(SQLiteStore):
    """Hub storage in one PostgreSQL database. Thread-safe; any number of processes."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 8) -> None:
        self.url = url
        self.path = None  # type: ignore[assignment]  # no file: repositories use the pool
        self._local = threading.local()
        self._repos: dict[str, Any] = {}
        self._pool = ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            kwargs={"autocommit": True},
            open=True,
            name="puente-hub",
        )

    # -- connections -------------------------------------------------------------------
    def _conn(self) -> Any:
        tx = getattr(self._local, "tx", None)
        return tx if tx is not None else PooledConnection(self._pool)

    @contextmanager
    def _write(self) -> Iterator[Any]:
        outer = getattr(self._local, "tx", None)
        if outer is not None:  # nested: part of the caller's transaction
            yield outer
            return
        with self._pool.connection() as conn, conn.transaction():
            self._local.tx = Connection(conn)
            try:
                yield self._local.tx
            finally:
                self._local.tx = None

    def migrate(self) -> int:
        with self._pool.connection() as conn:
            return pg_schema.migrate(conn)

    def ping(self, timeout_s: float = 5.0) -> bool:
        """Whether the database answers a read within ``timeout_s`` (a pool that cannot make
        a connection must not hold /healthz for the pool's own 30 s)."""
        try:
            with self._pool.connection(timeout=timeout_s) as conn:
                conn.execute("SELECT 1 FROM schema_migrations LIMIT 1")
        except (psycopg.Error, OSError, PoolTimeout):
            return False
        return True

    def probe_write(self, holder: str, at: str, timeout_s: float) -> None:
        """Write ``holder``'s heartbeat row and commit within ``timeout_s`` (a lock held, a
        read-only or full server: `heartbeat.WriteFailed` naming why)."""
        try:
            with self._pool.connection(timeout=timeout_s) as conn, conn.transaction():
                conn.execute(f"SET LOCAL statement_timeout = {max(1, int(timeout_s * 1000))}")
                conn.execute(
                    "INSERT INTO hub_heartbeat (holder, written_at) VALUES (%s, %s) "
                    "ON CONFLICT (holder) DO UPDATE SET written_at = excluded.written_at",
                    (holder, at),
                )
        except (psycopg.Error, OSError, PoolTimeout) as exc:
            raise heartbeat.WriteFailed(heartbeat.explain(exc)) from exc

    def close(self) -> None:
        self._repos.clear()
        self._pool.close()

    # -- repositories ------------------------------------------------------------------
    def readings(self) -> Any:
        return self._repo("readings", lambda: _PgReadings(self))

    def scans(self) -> Any:
        return self._repo("scans", lambda: _PgScans(self))

    def signatures(self) -> Any:
        return self._repo("signatures", lambda: _PgSignatures(self))

    def key_history(self) -> KeyHistory:
        return self._repo("key_history", lambda: _PgKeyHistory(self))

    def template_vault(self, key: bytes) -> TemplateVault:
        return _PgVault(self, key)

    def dispensing(self) -> Any:
        return self._repo("dispensing", lambda: _PgDispensing(self))

    def live_fanout(self) -> PgFanout:
        return self._repo("fanout", lambda: PgFanout(self.url, self._pool))

    # -- ingest ------------------------------------------------------------------------
    def commit_ingest(
        self,
        events: Sequence[EventRow],
        quarantine: Sequence[QuarantineRow],
        seen: Sequence[StationSeen],
    ) -> list[bool]:
        """One statement (`_COMMIT_SQL`) stores the events, their vital sets and readings and
        the stations' last-seen times. A batch with nothing else to do (the usual one: vital
        signs) is that statement alone, in autocommit: one round trip to the server, commit
        included. Other projections (documents, scans, dispensing) and quarantine rows need
        the new events first: then BEGIN, the statement, those, COMMIT."""
        stages = _Stages()
        params = _commit_params(events, seen)
        stages.mark("encode")
        nested = getattr(self._local, "tx", None) is not None
        alone = (
            not quarantine
            and not nested
            and not any(e.kind in projections.PROJECTIONS and e.kind not in _FOLDED for e in events)
        )
        if alone:
            with self._pool.connection() as raw:
                stages.mark("begin")
                inserted = {r[0] for r in raw.execute(_COMMIT_SQL, params).fetchall()}
                stages.mark("insert")
            self._local.trips = 1
            new = _first_new(events, inserted)
        else:
            with self._write() as conn:
                stages.mark("begin")
                conn.trips = 0
                inserted = {r[0] for r in conn.raw.execute(_COMMIT_SQL, params).fetchall()}
                stages.mark("insert")
                new = _first_new(events, inserted)
                projections.apply(
                    conn,
                    [e for e, n in zip(events, new, strict=True) if n and e.kind not in _FOLDED],
                )
                conn.executemany(
                    "INSERT OR IGNORE INTO quarantine (received_at, topic, station_id, event_id, "
                    "reason_code, reason, raw) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            q.received_at,
                            q.topic,
                            q.station_id,
                            q.event_id,
                            q.reason_code,
                            q.reason,
                            q.raw,
                        )
                        for q in quarantine
                    ],
                )
                stages.mark("project")
                # the statement, the projections', and BEGIN and COMMIT unless nested
                self._local.trips = 1 + conn.trips + (0 if nested else 2)
            stages.mark("commit")
        self._local.stages = stages.stages
        return new

    def last_commit_round_trips(self) -> int:
        """Round trips to the server of this thread's last `commit_ingest` (each waits for
        the server process: on a busy machine, for it to be scheduled)."""
        return int(getattr(self._local, "trips", 0))

    def last_commit_stages(self) -> Mapping[str, tuple[float, float]]:
        return dict(getattr(self._local, "stages", {}))

    def render_pending_payloads(self, limit: int, stop: Callable[[], bool] | None = None) -> int:
        """SQLiteStore's, with each worker taking rows no other worker is rendering (``FOR
        UPDATE SKIP LOCKED``): several idle workers share the backlog instead of each
        rendering the same oldest rows (one UPDATE for all of them). ``stop`` as on SQLite
        (``render_rows``); rows taken and not rendered are released at the commit."""
        with self._write() as conn:
            pending = conn.raw.execute(
                "SELECT ingest_seq, raw FROM events WHERE payload_json IS NULL "
                "ORDER BY ingest_seq LIMIT %s FOR UPDATE SKIP LOCKED",
                (limit,),
            ).fetchall()
            if not pending:
                return 0
            rendered = render_rows(pending, stop)
            seqs = [seq for seq, _, _ in rendered]
            texts = [text for _, text, _ in rendered]
            problems = [problem for _, _, problem in rendered]
            conn.raw.execute(
                "UPDATE events SET payload_json = r.text, payload_error = r.problem "
                "FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS r(seq, text, problem) "
                "WHERE events.ingest_seq = r.seq",
                (seqs, texts, problems),
            )
        return len(seqs)

    def last_station_seqs(self, station_ids: Sequence[str]) -> dict[str, int]:
        ids = list(dict.fromkeys(station_ids))
        if not ids:
            return {}
        found = dict(
            self._conn().execute(
                "SELECT station_id, MAX(station_seq) FROM events WHERE station_id = ANY(?) "
                "GROUP BY station_id",
                [ids],
            )
        )
        return {sid: int(found.get(sid) or 0) for sid in ids}

    def update_station_states(self, updates: Sequence[StationStateUpdate]) -> list[bool]:
        """One transaction (one WAL flush) for a batch's states: 50 stations connecting at
        once cost one commit per worker, not 50. Each update is still conditional on the
        stored state's time, so the order of workers and batches does not matter."""
        if not updates:
            return []
        with self._write():
            return [self.update_station_state(update) for update in updates]

    def update_station_state(self, update: StationStateUpdate) -> bool:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE stations SET online = ?, state_at = ?, agent_version = ?, "
                "outbox_depth = ?, last_seen_at = GREATEST(COALESCE(last_seen_at, ''), ?), "
                "warnings = ? "
                "WHERE station_id = ? AND (state_at IS NULL OR state_at <= ?)",
                (
                    int(update.online),
                    update.state_at,
                    update.agent_version,
                    update.outbox_depth,
                    update.state_at,
                    json.dumps(list(update.warnings), ensure_ascii=False),
                    update.station_id,
                    update.state_at,
                ),
            )
            if cur.rowcount == 1 and update.clock_offset_ms is not None:
                conn.execute(
                    "UPDATE stations SET clock_offset_ms = ?, clock_offset_known = 1 "
                    "WHERE station_id = ?",
                    (update.clock_offset_ms, update.station_id),
                )
            return bool(cur.rowcount == 1)


# -- the file-based SQLite repositories, on the pool ---------------------------------------


class _PgReadings(ReadingsStore):
    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    def _conn(self) -> Any:
        return self._store._conn()

    def sessions(self, case_id: str | None) -> list[SessionSpan]:
        # PostgreSQL wants every selected column grouped or aggregated: take them from the
        # session's first set (SQLite's bare columns pick one row of the group alike).
        sql = (
            "SELECT session_id, MIN(case_id), MIN(patient_id), MIN(device_id), "
            "MIN(station_id), MIN(monitor_json), "
            "MIN(CASE WHEN mode = ? THEN occurred_at END), MIN(occurred_at), "
            "MAX(CASE WHEN mode = ? THEN occurred_at END) "
            "FROM vital_sets WHERE session_id != ''"
        )
        args: list[object] = [MODE_SESSION_START, MODE_SESSION_STOP]
        if case_id is not None:
            sql += " AND case_id = ?"
            args.append(case_id)
        rows = self._conn().execute(sql + " GROUP BY session_id ORDER BY 8", args).fetchall()
        return [
            SessionSpan(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6] or r[7], r[8])
            for r in rows
        ]

    def close(self) -> None:
        """The pool is the store's."""


class _PgDispensing(SQLiteDispensing):
    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    def _conn(self) -> Any:
        return self._store._conn()


class _PgScans(SQLiteScans):
    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    def _conn(self) -> Any:
        return self._store._conn()


class _PgSignatures(SQLiteSignatures):
    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    def _conn(self) -> Any:
        return self._store._conn()

    def stale_unknown(self, limit: int, checked_before: str) -> list[PendingRevision]:
        # One row per verdict (SQLite's GROUP BY with bare columns): DISTINCT ON here.
        rows = self._conn().execute(
            "SELECT document_id, sha256, event_id, signature_level, raw FROM ("
            "SELECT DISTINCT ON (v.sha256) d.document_id, d.sha256, d.event_id, "
            "d.signature_level, e.raw, v.checked_at "
            "FROM signature_verdicts v JOIN documents d ON d.sha256 = v.sha256 "
            "LEFT JOIN events e ON e.event_id = d.event_id "
            "WHERE v.verdict = 'revocation_unknown' AND v.checked_at < ? "
            "ORDER BY v.sha256, d.occurred_at) s ORDER BY checked_at LIMIT ?",
            (checked_before, limit),
        )
        return [PendingRevision(*r) for r in rows.fetchall()]


class _PgKeyHistory:
    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    def keys(self, station_id: str) -> list[HistoricKey]:
        return key_history_rows(self._store._conn(), station_id)


class _PgVault(SQLiteTemplateVault):
    def __init__(self, store: PostgresStore, key: bytes) -> None:
        super().__init__(None, key)  # type: ignore[arg-type]  # no file: reads go through _store
        self._store = store

    def _connect(self) -> Any:
        return _Unclosed(self._store._conn())


class _Unclosed:
    """A pooled facade the vault may `close()` (the pool keeps the connection)."""

    def __init__(self, conn: Any) -> None:
        self._c = conn

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Any:
        return self._c.execute(sql, args)

    def close(self) -> None:
        pass


CHANNEL = "puente_live"
_NOTIFY_MAX = 7000  # bytes of one NOTIFY payload (PostgreSQL's limit is 8000)


class PgFanout:
    """Newly stored vital sets announced with NOTIFY after ingest commits; every API process
    LISTENs on its own connection and reads the sets back for the cases someone watches."""

    def __init__(self, url: str, pool: ConnectionPool) -> None:
        self._url = url
        self._pool = pool

    def announce(self, stored: Sequence[tuple[str, str]]) -> None:
        chunks: list[list[tuple[str, str]]] = [[]]
        size = 0
        for pair in stored:
            n = len(pair[0]) + len(pair[1]) + 8
            if size + n > _NOTIFY_MAX and chunks[-1]:
                chunks.append([])
                size = 0
            chunks[-1].append(pair)
            size += n
        payloads = [json.dumps(chunk) for chunk in chunks if chunk]
        if not payloads:
            return
        with self._pool.connection() as conn:  # one round trip for all of a commit's notices
            conn.execute(
                "SELECT pg_notify(%s, p) FROM unnest(%s::text[]) WITH ORDINALITY AS n(p, i) "
                "ORDER BY i",
                (CHANNEL, payloads),
            )

    def listen(self, on_stored: Any) -> Any:
        stop = threading.Event()
        ready = threading.Event()

        def run() -> None:
            while not stop.is_set():
                try:
                    with psycopg.connect(self._url, autocommit=True) as conn:
                        conn.execute(f"LISTEN {CHANNEL}")
                        ready.set()
                        while not stop.is_set():
                            for note in conn.notifies(timeout=0.5):
                                try:
                                    on_stored([tuple(p) for p in json.loads(note.payload)])
                                except Exception:
                                    log.exception("live fan-out: a notice could not be handled")
                except psycopg.Error:
                    log.warning("live fan-out: listener connection lost; reconnecting")
                    stop.wait(1.0)

        thread = threading.Thread(target=run, name="pg-live-listen", daemon=True)
        thread.start()
        ready.wait(10)

        def stop_listening() -> None:
            stop.set()
            thread.join(5)

        return stop_listening
