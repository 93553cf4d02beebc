"""The SQLite implementation of `Store`: WAL, synchronous=FULL, one connection per thread."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from hub.storage import cursors, documents, heartbeat, projections, schema
from hub.storage.base import (
    ApiToken,
    Case,
    Conflict,
    EventRow,
    LiveFanout,
    NotFound,
    Page,
    QuarantinedBytes,
    QuarantineEntry,
    QuarantineRow,
    Station,
    StationSeen,
    StationStateUpdate,
    StoredEvent,
)
from hub.storage.biometrics import SQLiteTemplateVault, TemplateVault
from hub.storage.case_queries import CaseQueries, SQLCaseQueries
from hub.storage.case_views import CaseViewLog, SQLiteCaseViews
from hub.storage.dispensing import DispensingStore, SQLiteDispensing
from hub.storage.documents import DocumentRevision
from hub.storage.keys import public_key_sha256
from hub.storage.payloads import flag, render_checked, render_rows
from hub.storage.readings import Readings, ReadingsStore
from hub.storage.registry import RegistryStore
from hub.storage.scans import ScanStore, SQLiteScans
from hub.storage.signatures import SignatureStore, SQLiteSignatures
from hub.storage.station_key_history import KeyHistory, StationKeyHistory
from hub.storage.web_users import WebUserStore

_EVENT_COLUMNS = (
    "ingest_seq, event_id, station_id, unit_id, device_id, case_id, patient_id, kind, "
    "occurred_at, station_seq, received_at, clock_offset_ms, payload_json, raw, payload_error, "
    "time_flag"
)
_INSERT_EVENT = (
    "INSERT OR IGNORE INTO events (event_id, station_id, unit_id, device_id, case_id, "
    "patient_id, kind, occurred_at, station_seq, received_at, clock_offset_ms, raw, time_flag) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_QUARANTINE = (
    "INSERT OR IGNORE INTO quarantine (received_at, topic, station_id, event_id, reason_code, "
    "reason, raw) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_STATION_SELECT = (
    "SELECT s.station_id, s.unit_id, s.registered_at, s.retired_at, s.online, s.last_seen_at, "
    "s.state_at, s.clock_offset_ms, s.agent_version, s.outbox_depth, "
    "(SELECT count(*) FROM events e WHERE e.station_id = s.station_id) AS event_count, "
    "s.warnings, s.clock_offset_known "
    "FROM stations s"
)
_IN_CHUNK = 500


_R = TypeVar("_R")  # a repository type (SQLiteStore._repo)


class SQLiteStore:
    """Hub storage in one SQLite file. Safe to share between threads: each thread gets its
    own connection; writes of this process are serialised by a lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._repos: dict[str, Any] = {}

    # -- connections -------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed event survives power loss before its receipt is sent.
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=10000")
            self._local.conn = conn
            with self._conns_lock:
                self._conns.append(conn)
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def _derived_write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction committed without an fsync of its own, for what is derived
        from stored rows and made again if a power cut loses it (the next durable commit's
        fsync makes the WAL durable up to it anyway)."""
        conn = self._conn()
        with self._write_lock:
            conn.execute("PRAGMA synchronous=NORMAL")
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            finally:
                conn.execute("PRAGMA synchronous=FULL")

    def migrate(self) -> int:
        with self._write_lock:
            return schema.migrate(self._conn())

    def ping(self) -> bool:
        try:
            self._conn().execute("SELECT 1 FROM schema_migrations LIMIT 1").fetchall()
        except sqlite3.Error:
            return False
        return True

    def probe_write(self, holder: str, at: str, timeout_s: float) -> None:
        heartbeat.probe_write(self.path, holder, at, timeout_s)

    def close(self) -> None:
        for repo in self._repos.values():
            close = getattr(repo, "close", None)
            if close is not None:
                close()
        self._repos.clear()
        with self._conns_lock:
            for conn in self._conns:
                conn.close()
            self._conns.clear()
        self._local = threading.local()

    # -- repositories: every other part of the hub reaches its tables through these -------
    def _repo(self, name: str, make: Callable[[], _R]) -> _R:
        repo: _R | None = self._repos.get(name)
        if repo is None:
            repo = self._repos.setdefault(name, make())
        return repo

    def readings(self) -> Readings:
        return self._repo("readings", lambda: ReadingsStore(self.path))

    def scans(self) -> ScanStore:
        return self._repo("scans", lambda: SQLiteScans(self.path))

    def signatures(self) -> SignatureStore:
        return self._repo("signatures", lambda: SQLiteSignatures(self.path))

    def key_history(self) -> KeyHistory:
        return self._repo("key_history", lambda: StationKeyHistory(self.path))

    def template_vault(self, key: bytes) -> TemplateVault:
        return SQLiteTemplateVault(self.path, key)

    def registry(self) -> RegistryStore:
        return self._repo("registry", lambda: RegistryStore(self))

    def web_users(self) -> WebUserStore:
        return self._repo("web_users", lambda: WebUserStore(self))

    def case_views(self) -> CaseViewLog:
        return self._repo("case_views", lambda: SQLiteCaseViews(self))

    def case_queries(self) -> CaseQueries:
        return self._repo("case_queries", lambda: SQLCaseQueries(self))

    def dispensing(self) -> DispensingStore:
        return self._repo("dispensing", lambda: SQLiteDispensing(self.path))

    def live_fanout(self) -> LiveFanout | None:
        return None  # one process: ingest's after-commit hook feeds the live view

    # -- ingest ------------------------------------------------------------------------
    def last_commit_stages(self) -> Mapping[str, tuple[float, float]]:
        return {}

    def last_commit_round_trips(self) -> int:
        return 0  # no server

    def commit_ingest(
        self,
        events: Sequence[EventRow],
        quarantine: Sequence[QuarantineRow],
        seen: Sequence[StationSeen],
    ) -> list[bool]:
        with self._write() as conn:
            ids = [e.event_id for e in events]
            stored: set[str] = set()
            for start in range(0, len(ids), _IN_CHUNK):
                chunk = ids[start : start + _IN_CHUNK]
                marks = ",".join("?" * len(chunk))
                stored.update(
                    row[0]
                    for row in conn.execute(
                        f"SELECT event_id FROM events WHERE event_id IN ({marks})", chunk
                    )
                )
            new: list[bool] = []
            rows: list[tuple[Any, ...]] = []
            for e in events:
                if e.event_id in stored:
                    new.append(False)
                    continue
                stored.add(e.event_id)  # a second copy in this same batch is a duplicate
                new.append(True)
                rows.append(
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
                        e.raw,
                        e.time_flag,
                    )
                )
            conn.executemany(_INSERT_EVENT, rows)
            projections.apply(conn, [e for e, is_new in zip(events, new, strict=True) if is_new])
            conn.executemany(
                _INSERT_QUARANTINE,
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

    def stations_by_id(self, station_ids: Sequence[str]) -> Mapping[str, Station]:
        ids = list(dict.fromkeys(station_ids))
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        # No event counts here: ingest asks this for every batch.
        cur = self._conn().execute(
            "SELECT station_id, unit_id, registered_at, retired_at, online, last_seen_at, "
            "state_at, clock_offset_ms, agent_version, outbox_depth, 0, warnings, "
            "clock_offset_known FROM stations "
            f"WHERE station_id IN ({marks})",
            ids,
        )
        return {row[0]: _station(row) for row in cur}

    def set_station_key(self, station_id: str, public_key_pem: str, at: str) -> str:
        key_sha256 = public_key_sha256(public_key_pem)
        with self._write() as conn:
            if (
                conn.execute(
                    "SELECT 1 FROM stations WHERE station_id = ?", (station_id,)
                ).fetchone()
                is None
            ):
                raise NotFound(f"no station {station_id} / no existe la estación {station_id}")
            conn.execute(
                "INSERT INTO station_keys (station_id, public_key_pem, key_sha256, set_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(station_id) DO UPDATE SET "
                "public_key_pem = excluded.public_key_pem, key_sha256 = excluded.key_sha256, "
                "set_at = excluded.set_at",
                (station_id, public_key_pem, key_sha256, at),
            )
        return key_sha256

    def station_key(self, station_id: str) -> str | None:
        row = (
            self._conn()
            .execute("SELECT public_key_pem FROM station_keys WHERE station_id = ?", (station_id,))
            .fetchone()
        )
        return str(row[0]) if row else None

    def list_documents(
        self,
        *,
        case_id: str | None = None,
        document_type: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 50,
        before: str | None = None,
        origin: str | None = None,
    ) -> Page[DocumentRevision]:
        return documents.list_documents(
            self._conn(),
            case_id=case_id,
            document_type=document_type,
            since=since,
            until=until,
            limit=limit,
            before=before,
            origin=origin,
        )

    def document_revisions(self, document_id: str) -> list[DocumentRevision]:
        return documents.revisions(self._conn(), document_id)

    def last_station_seqs(self, station_ids: Sequence[str]) -> Mapping[str, int]:
        conn = self._conn()
        return {
            sid: int(
                conn.execute(
                    "SELECT COALESCE(MAX(station_seq), 0) FROM events WHERE station_id = ?", (sid,)
                ).fetchone()[0]
            )
            for sid in dict.fromkeys(station_ids)
        }

    def update_station_states(self, updates: Sequence[StationStateUpdate]) -> list[bool]:
        return [self.update_station_state(update) for update in updates]

    def update_station_state(self, update: StationStateUpdate) -> bool:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE stations SET online = ?, state_at = ?, agent_version = ?, "
                "outbox_depth = ?, last_seen_at = max(coalesce(last_seen_at, ''), ?), "
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
            return cur.rowcount == 1

    def render_pending_payloads(self, limit: int, stop: Callable[[], bool] | None = None) -> int:
        pending = (
            self._conn()
            .execute(
                "SELECT ingest_seq, raw FROM events WHERE payload_json IS NULL "
                "ORDER BY ingest_seq LIMIT ?",
                (limit,),
            )
            .fetchall()
        )
        if not pending:
            return 0
        rendered = [(text, problem, seq) for seq, text, problem in render_rows(pending, stop)]
        # One transaction whatever ``stop`` says (no more transactions than without it), and
        # no fsync of its own: payload_json is derived from raw, a row a power cut sends
        # back to NULL is rendered again. The ingest writer that runs this when idle is back
        # at its queue after the page writes, not after a disk flush.
        with self._derived_write() as conn:
            conn.executemany(
                "UPDATE events SET payload_json = ?, payload_error = ? "
                "WHERE ingest_seq = ? AND payload_json IS NULL",
                rendered,
            )
        return len(rendered)

    # -- cases -------------------------------------------------------------------------
    def open_case(self, case: Case) -> tuple[Case, bool]:
        with self._write() as conn:
            row = conn.execute(
                "SELECT case_id, patient_id, unit_id, opened_at, closed_at, opened_by "
                "FROM cases WHERE case_id = ?",
                (case.case_id,),
            ).fetchone()
            if row is not None:
                existing = Case(*row)
                if (existing.patient_id, existing.unit_id) != (case.patient_id, case.unit_id):
                    raise Conflict(
                        f"case {case.case_id} exists with other patient or unit / "
                        f"el caso {case.case_id} ya existe con otro afiliado o unidad"
                    )
                return existing, False
            conn.execute(
                "INSERT INTO cases (case_id, patient_id, unit_id, opened_at, closed_at, opened_by) "
                "VALUES (?, ?, ?, ?, NULL, ?)",
                (case.case_id, case.patient_id, case.unit_id, case.opened_at, case.opened_by),
            )
        return case, True

    def close_case(self, case_id: str, closed_at: str) -> Case:
        with self._write() as conn:
            conn.execute(
                "UPDATE cases SET closed_at = ? WHERE case_id = ? AND closed_at IS NULL",
                (closed_at, case_id),
            )
        case = self.get_case(case_id)
        if case is None:
            raise NotFound(f"no case {case_id} / no existe el caso {case_id}")
        return case

    def get_case(self, case_id: str) -> Case | None:
        row = (
            self._conn()
            .execute(
                "SELECT case_id, patient_id, unit_id, opened_at, closed_at, opened_by "
                "FROM cases WHERE case_id = ?",
                (case_id,),
            )
            .fetchone()
        )
        return Case(*row) if row else None

    def list_cases(
        self, patient_id: str | None, unit_id: str | None, limit: int, before: str | None
    ) -> Page[Case]:
        where, args = ["1 = 1"], []
        if patient_id:
            where.append("patient_id = ?")
            args.append(patient_id)
        if unit_id:
            where.append("unit_id = ?")
            args.append(unit_id)
        if before:
            opened_at, case_id = cursors.decode(before, str, str)
            where.append("(opened_at, case_id) < (?, ?)")
            args += [opened_at, case_id]
        rows = (
            self._conn()
            .execute(
                "SELECT case_id, patient_id, unit_id, opened_at, closed_at, opened_by FROM cases "
                f"WHERE {' AND '.join(where)} ORDER BY opened_at DESC, case_id DESC LIMIT ?",
                [*args, limit + 1],
            )
            .fetchall()
        )
        items = [Case(*r) for r in rows[:limit]]
        last = items[-1] if len(rows) > limit else None
        return Page(items, cursors.encode([last.opened_at, last.case_id]) if last else None)

    # -- events ------------------------------------------------------------------------
    def case_timeline(self, case_id: str, limit: int, before: str | None) -> Page[StoredEvent]:
        where, args = "case_id = ?", [case_id]
        if before:
            occurred_at, event_id = cursors.decode(before, str, str)
            where += " AND (occurred_at, event_id) < (?, ?)"
            args += [occurred_at, event_id]
        rows = (
            self._conn()
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

    def get_event(self, event_id: str) -> StoredEvent | None:
        row = (
            self._conn()
            .execute(f"SELECT {_EVENT_COLUMNS} FROM events WHERE event_id = ?", (event_id,))
            .fetchone()
        )
        return _event(row) if row else None

    def unmatched_events(self, limit: int, before: str | None) -> Page[StoredEvent]:
        where, args = ["e.case_id != ''", "c.case_id IS NULL"], []
        if before:
            (seq,) = cursors.decode(before, int)
            where.append("e.ingest_seq < ?")
            args.append(int(seq))
        columns = ", ".join(f"e.{c.strip()}" for c in _EVENT_COLUMNS.split(","))
        rows = (
            self._conn()
            .execute(
                f"SELECT {columns} FROM events e LEFT JOIN cases c ON c.case_id = e.case_id "
                f"WHERE {' AND '.join(where)} ORDER BY e.ingest_seq DESC LIMIT ?",
                [*args, limit + 1],
            )
            .fetchall()
        )
        items = [_event(r) for r in rows[:limit]]
        last = items[-1] if len(rows) > limit else None
        return Page(items, cursors.encode([last.ingest_seq]) if last else None)

    def list_quarantine(self, limit: int, before: str | None) -> Page[QuarantineEntry]:
        where, args = "1 = 1", []
        if before:
            (qid,) = cursors.decode(before, int)
            where, args = "id < ?", [int(qid)]
        rows = (
            self._conn()
            .execute(
                "SELECT id, received_at, topic, station_id, event_id, reason_code, reason, "
                "length(raw), reingested_at, coalesce(reingest_outcome, '') "
                f"FROM quarantine WHERE {where} ORDER BY id DESC LIMIT ?",
                [*args, limit + 1],
            )
            .fetchall()
        )
        items = [QuarantineEntry(*r) for r in rows[:limit]]
        last = items[-1] if len(rows) > limit else None
        return Page(items, cursors.encode([last.id]) if last else None)

    def get_quarantined(self, quarantine_id: int) -> QuarantinedBytes | None:
        row = (
            self._conn()
            .execute(
                "SELECT id, topic, received_at, raw FROM quarantine WHERE id = ?",
                (quarantine_id,),
            )
            .fetchone()
        )
        return QuarantinedBytes(int(row[0]), row[1], row[2], bytes(row[3])) if row else None

    def mark_reingested(self, quarantine_id: int, at: str, outcome: str) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE quarantine SET reingested_at = ?, reingest_outcome = ? WHERE id = ?",
                (at, outcome, quarantine_id),
            )

    # -- stations ----------------------------------------------------------------------
    def register_station(self, station_id: str, unit_id: str, at: str) -> tuple[Station, bool]:
        with self._write() as conn:
            row = conn.execute(
                "SELECT unit_id, retired_at FROM stations WHERE station_id = ?", (station_id,)
            ).fetchone()
            created = row is None
            if row is not None and (row[0] != unit_id or row[1] is not None):
                raise Conflict(
                    f"station {station_id} is already registered (unit {row[0]}"
                    f"{', retired' if row[1] else ''}) / la estación {station_id} ya está "
                    f"registrada (unidad {row[0]}{', dada de baja' if row[1] else ''})"
                )
            if created:
                conn.execute(
                    "INSERT INTO stations (station_id, unit_id, registered_at, online) "
                    "VALUES (?, ?, ?, 0)",
                    (station_id, unit_id, at),
                )
        station = self.get_station(station_id)
        assert station is not None
        return station, created

    def retire_station(self, station_id: str, at: str) -> Station:
        with self._write() as conn:
            conn.execute(
                "UPDATE stations SET retired_at = ? WHERE station_id = ? AND retired_at IS NULL",
                (at, station_id),
            )
        station = self.get_station(station_id)
        if station is None:
            raise NotFound(f"no station {station_id} / no existe la estación {station_id}")
        return station

    def get_station(self, station_id: str) -> Station | None:
        row = (
            self._conn()
            .execute(f"{_STATION_SELECT} WHERE s.station_id = ?", (station_id,))
            .fetchone()
        )
        return _station(row) if row else None

    def list_stations(self) -> list[Station]:
        rows = self._conn().execute(f"{_STATION_SELECT} ORDER BY s.unit_id, s.station_id")
        return [_station(r) for r in rows]

    # -- API tokens --------------------------------------------------------------------
    def add_token(self, token: ApiToken) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO api_tokens (token_sha256, name, role, created_at, "
                "revoked_at) VALUES (?, ?, ?, ?, ?)",
                (token.token_sha256, token.name, token.role, token.created_at, token.revoked_at),
            )

    def find_token(self, token_sha256: str) -> ApiToken | None:
        row = (
            self._conn()
            .execute(
                "SELECT token_sha256, name, role, created_at, revoked_at FROM api_tokens "
                "WHERE token_sha256 = ?",
                (token_sha256,),
            )
            .fetchone()
        )
        return ApiToken(*row) if row else None

    def revoke_tokens(self, name: str, at: str) -> int:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                (at, name),
            )
            return cur.rowcount

    def list_tokens(self) -> list[ApiToken]:
        rows = self._conn().execute(
            "SELECT token_sha256, name, role, created_at, revoked_at FROM api_tokens "
            "ORDER BY created_at, name"
        )
        return [ApiToken(*r) for r in rows]


def _station(row: Sequence[Any]) -> Station:
    return Station(
        station_id=row[0],
        unit_id=row[1],
        registered_at=row[2],
        retired_at=row[3],
        online=bool(row[4]),
        last_seen_at=row[5],
        state_at=row[6],
        clock_offset_ms=row[7],
        agent_version=row[8],
        outbox_depth=row[9],
        event_count=row[10],
        warnings=tuple(json.loads(row[11] or "[]")),
        clock_offset_known=bool(row[12]),
    )


def _event(row: Sequence[Any]) -> StoredEvent:
    """A stored event as read back; a bad one (see payloads.py) comes flagged, never raising."""
    payload_json, raw, problem = row[12], row[13], row[14]
    if payload_json is None:
        payload, problem = render_checked(raw)
    elif problem is None:
        try:
            payload = json.loads(payload_json)
        except ValueError as exc:
            payload, problem = {}, flag(f"payload JSON: {exc}")
    if problem is not None:
        payload = {}
    return StoredEvent(  # type: ignore[misc]  # mypy reads *row as filling every field
        *row[:12], payload=payload, problem=problem, time_flag=row[15] or ""
    )
