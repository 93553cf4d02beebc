"""Hub storage of console users (migration 600): name, role, scrypt password hash."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

import sqlite_utils

from hub.storage.base import Conflict, Duplicate


def m600_web_users(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE web_users (
            name TEXT PRIMARY KEY,
            role TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            disabled_at TEXT
        )
        """
    )


class _Connections(Protocol):
    def _conn(self) -> sqlite3.Connection: ...
    def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...


@dataclass(frozen=True)
class UserRecord:
    name: str
    role: str
    password_hash: str
    created_at: str
    disabled_at: str | None


class WebUserStore:
    """Console users in the hub's SQLite file (shares the store's connections and write lock)."""

    def __init__(self, store: _Connections) -> None:
        self._store = store

    def add(self, name: str, role: str, password_hash: str, at: str) -> None:
        try:
            with self._store._write() as conn:
                conn.execute(
                    "INSERT INTO web_users VALUES (?, ?, ?, ?, NULL)",
                    (name, role, password_hash, at),
                )
        except (sqlite3.IntegrityError, Duplicate) as exc:
            raise Conflict(f"user {name} exists / el usuario {name} ya existe") from exc

    def set_password(self, name: str, password_hash: str) -> bool:
        with self._store._write() as conn:
            cur = conn.execute(
                "UPDATE web_users SET password_hash = ? WHERE name = ?", (password_hash, name)
            )
            return cur.rowcount == 1

    def get(self, name: str) -> UserRecord | None:
        row = (
            self._store._conn()
            .execute(
                "SELECT name, role, password_hash, created_at, disabled_at FROM web_users "
                "WHERE name = ?",
                (name,),
            )
            .fetchone()
        )
        return UserRecord(*row) if row else None

    def list(self) -> list[UserRecord]:
        rows = self._store._conn().execute(
            "SELECT name, role, password_hash, created_at, disabled_at FROM web_users ORDER BY name"
        )
        return [UserRecord(*r) for r in rows]
