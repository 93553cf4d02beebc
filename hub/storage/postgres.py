"""The PostgreSQL implementation of `Store` (psycopg 3 + psycopg_pool): the production store,
shared by several ingest workers and API processes.

The statements are SQLiteStore's (one SQL spelling for both engines, translated by
`hub.storage.pg_sql`); what differs is here: a connection pool instead of one connection
per thread, a write is a transaction on a borrowed connection (no process lock: PostgreSQL
serialises what must be), migrations under an advisory lock, and exactly-once ingest by the
unique ``event_id`` with ``ON CONFLICT DO NOTHING RETURNING`` (a batch arrives by COPY in a
per-connection staging table; plain inserts of the projections go by COPY too, pg_sql): when
two workers commit the same event at once, the second waits on the key and learns it is a
duplicate, so it neither projects it twice nor reports it new. The per-station ordering gate
reads the last stored ``station_seq`` from the database (`last_station_seqs`), so it holds
across workers.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from hub.storage import heartbeat, pg_schema, projections
from hub.storage.base import EventRow, QuarantineRow, StationSeen, StationStateUpdate
from hub.storage.biometrics import SQLiteTemplateVault, TemplateVault
from hub.storage.dispensing import SQLiteDispensing
from hub.storage.pg_sql import Connection, PooledConnection
from hub.storage.readings import MODE_SESSION_START, MODE_SESSION_STOP, ReadingsStore, SessionSpan
from hub.storage.scans import SQLiteScans
from hub.storage.signatures import PendingRevision, SQLiteSignatures
from hub.storage.sqlite import SQLiteStore
from hub.storage.station_key_history import HistoricKey, KeyHistory, key_history_rows

log = logging.getLogger(__name__)

_EVENT_COLS = (
    "event_id, station_id, unit_id, device_id, case_id, patient_id, kind, occurred_at, "
    "station_seq, received_at, clock_offset_ms, raw, time_flag"
)
# Each pooled connection's staging table for a batch of events (rows gone at commit).
_STAGING = (
    "CREATE TEMP TABLE ingest_events (ord INTEGER NOT NULL, event_id TEXT, station_id TEXT, "
    "unit_id TEXT, device_id TEXT, case_id TEXT, patient_id TEXT, kind TEXT, occurred_at TEXT, "
    "station_seq BIGINT, received_at TEXT, clock_offset_ms BIGINT, raw BYTEA, time_flag TEXT) "
    "ON COMMIT DELETE ROWS"
)
# Taken out of the staging table as they go in (a second batch in the same transaction, as
# in a nested write, finds it empty).
_INSERT_STAGED = (
    "WITH staged AS (DELETE FROM ingest_events RETURNING *) "
    f"INSERT INTO events ({_EVENT_COLS}) SELECT {_EVENT_COLS} FROM staged ORDER BY ord "
    "ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
)


def _configure(conn: psycopg.Connection[Any]) -> None:
    """Every new pooled connection (autocommit): its staging table."""
    conn.execute(_STAGING)


def _insert_events(raw: psycopg.Connection[Any], events: Sequence[EventRow]) -> set[str]:
    """Insert the batch's events in their order; the ids that were new. The rows go by COPY
    into the staging table, then one INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING
    stores those not stored yet (a concurrent worker's copy waits on the unique key), with
    ``ingest_seq`` in batch order."""
    if not events:
        return set()
    with raw.cursor() as cur:
        with cur.copy(f"COPY ingest_events (ord, {_EVENT_COLS}) FROM STDIN") as copy:
            for i, e in enumerate(events):
                copy.write_row(
                    (
                        i,
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
                        e.raw,
                        e.time_flag,
                    )
                )
        cur.execute(_INSERT_STAGED)
        return {r[0] for r in cur.fetchall()}


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
            configure=_configure,
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

    @contextmanager
    def _derived_write(self) -> Iterator[Any]:
        with self._write() as conn:  # a PostgreSQL commit: no per-transaction sync setting here
            yield conn

    def migrate(self) -> int:
        with self._pool.connection() as conn:
            return pg_schema.migrate(conn)

    def ping(self) -> bool:
        try:
            self._conn().execute("SELECT 1 FROM schema_migrations LIMIT 1")
        except (psycopg.Error, OSError):
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
        with self._write() as conn:
            inserted = _insert_events(conn.raw, events)
            new: list[bool] = []
            for e in events:
                new.append(e.event_id in inserted)
                inserted.discard(e.event_id)  # a second copy in this same batch is a duplicate
            projections.apply(conn, [e for e, is_new in zip(events, new, strict=True) if is_new])
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
            conn.executemany(
                "UPDATE stations SET last_seen_at = ?, clock_offset_ms = ?, "
                "clock_offset_known = ? WHERE station_id = ?",
                [(s.last_seen_at, s.clock_offset_ms, int(s.known), s.station_id) for s in seen],
            )
        return new

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
        with self._pool.connection() as conn:
            for chunk in chunks:
                if chunk:
                    conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, json.dumps(chunk)))

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
