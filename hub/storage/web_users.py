"""Hub storage of console users (migration 600): name, role, scrypt password hash; and their
server-side sessions (migration 640), so that sign-out and disabling a user end a session at
once in every hub process."""

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


def m640_web_sessions(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE web_sessions (
            sid_sha256 TEXT PRIMARY KEY,   -- only the hash of the cookie's session id
            name TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            ended_at TEXT
        )
        """
    )
    db.execute("CREATE INDEX web_sessions_name ON web_sessions(name)")


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

    def disable(self, name: str, at: str) -> bool:
        """Disable a user and end every session of theirs (one transaction); False if unknown."""
        with self._store._write() as conn:
            cur = conn.execute(
                "UPDATE web_users SET disabled_at = ? WHERE name = ? AND disabled_at IS NULL",
                (at, name),
            )
            conn.execute(
                "UPDATE web_sessions SET ended_at = ? WHERE name = ? AND ended_at IS NULL",
                (at, name),
            )
            return bool(cur.rowcount == 1)

    # -- sessions (only the SHA-256 of a session id is stored) --------------------------
    def open_session(self, sid_sha256: str, name: str, at: str, expires_at: str) -> None:
        with self._store._write() as conn:
            conn.execute(
                "INSERT INTO web_sessions (sid_sha256, name, created_at, expires_at) "
                "VALUES (?, ?, ?, ?)",
                (sid_sha256, name, at, expires_at),
            )

    def session_user(self, sid_sha256: str, now: str) -> str | None:
        """The user of a live session: not ended, not expired, user not disabled (a user of
        another authenticator has no web_users row)."""
        row = (
            self._store._conn()
            .execute(
                "SELECT s.name FROM web_sessions s LEFT JOIN web_users u ON u.name = s.name "
                "WHERE s.sid_sha256 = ? AND s.ended_at IS NULL AND s.expires_at > ? "
                "AND u.disabled_at IS NULL",
                (sid_sha256, now),
            )
            .fetchone()
        )
        return str(row[0]) if row else None

    def end_session(self, sid_sha256: str, at: str) -> None:
        with self._store._write() as conn:
            conn.execute(
                "UPDATE web_sessions SET ended_at = ? WHERE sid_sha256 = ? AND ended_at IS NULL",
                (at, sid_sha256),
            )

    def end_sessions(self, name: str, at: str) -> None:
        """Every live session of a user ends now (a password reset)."""
        with self._store._write() as conn:
            conn.execute(
                "UPDATE web_sessions SET ended_at = ? WHERE name = ? AND ended_at IS NULL",
                (at, name),
            )

    def set_disabled(self, name: str, at: str | None) -> bool:
        """Disable (``at``: when, ending every session of the user) or re-enable (None) a
        user; False if there is no such user."""
        with self._store._write() as conn:
            cur = conn.execute("UPDATE web_users SET disabled_at = ? WHERE name = ?", (at, name))
            if at is not None:
                conn.execute(
                    "UPDATE web_sessions SET ended_at = ? WHERE name = ? AND ended_at IS NULL",
                    (at, name),
                )
            return bool(cur.rowcount == 1)
