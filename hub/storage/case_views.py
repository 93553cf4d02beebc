"""The console's audit log of case views (migration 610): who looked at which case, when."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

import sqlite_utils


def m610_case_views(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE case_views (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            viewed_at TEXT NOT NULL,
            viewer TEXT NOT NULL,
            role TEXT NOT NULL,
            case_id TEXT NOT NULL,
            what TEXT NOT NULL,          -- case | live | document:<sha256>
            client TEXT NOT NULL DEFAULT ''
        )
        """
    )
    db.execute("CREATE INDEX case_views_case ON case_views(case_id, viewed_at)")
    db.execute("CREATE INDEX case_views_viewer ON case_views(viewer, viewed_at)")


class _Connections(Protocol):
    def _conn(self) -> sqlite3.Connection: ...
    def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...


@dataclass(frozen=True)
class CaseView:
    id: int
    viewed_at: str
    viewer: str
    role: str
    case_id: str
    what: str
    client: str


class CaseViewLog(Protocol):
    def record(self, viewer: str, role: str, case_id: str, what: str, client: str, at: str) -> None:
        """Append one view (never updated, never deleted by the console)."""
        ...

    def list(
        self,
        *,
        case_id: str = "",
        viewer: str = "",
        limit: int = 100,
        offset: int = 0,
        since: str = "",
        until: str = "",
    ) -> list[CaseView]: ...


class SQLiteCaseViews:
    """Case views in the hub's SQLite file (shares the store's connections and write lock)."""

    def __init__(self, store: _Connections) -> None:
        self._store = store

    def record(self, viewer: str, role: str, case_id: str, what: str, client: str, at: str) -> None:
        with self._store._write() as conn:
            conn.execute(
                "INSERT INTO case_views (viewed_at, viewer, role, case_id, what, client) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (at, viewer, role, case_id, what, client[:64]),
            )

    def list(
        self,
        *,
        case_id: str = "",
        viewer: str = "",
        limit: int = 100,
        offset: int = 0,
        since: str = "",
        until: str = "",
    ) -> list[CaseView]:
        """Newest first; ``since``/``until``: UTC ISO bounds on viewed_at (until exclusive)."""
        where, args = ["1 = 1"], []
        if since:
            where.append("viewed_at >= ?")
            args.append(since)
        if until:
            where.append("viewed_at < ?")
            args.append(until)
        if case_id:
            where.append("case_id = ?")
            args.append(case_id)
        if viewer:
            where.append("viewer = ?")
            args.append(viewer)
        rows = (
            self._store._conn()
            .execute(
                "SELECT id, viewed_at, viewer, role, case_id, what, client FROM case_views "
                f"WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ? OFFSET ?",
                [*args, limit, offset],
            )
            .fetchall()
        )
        return [CaseView(*r) for r in rows]
