"""The write probe of /healthz: one tiny row per hub process, written on a connection of its own.

Reads keep working while writes cannot (another process holds the write lock, the file or its
folder turned read-only, the disk is full), so a read ping alone says "healthy" while ingest
fails. The probe first asks the file system whether the hub's user may write the database,
its WAL files and its folder (``access(2)``): a file made read-only after the hub opened it
still takes writes through descriptors opened before (SQLite even re-uses them for new
connections of the same process), but any restart could only read it. Then it writes one row
and commits, which meets a held write lock, a full disk or an I/O error.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import sqlite_utils

from hub.storage.base import StoreError


class WriteFailed(StoreError):
    """The database cannot take a write now; ``reason`` says why in words (bilingual)."""

    code = "db_not_writable"


def m820_hub_heartbeat(db: sqlite_utils.Database) -> None:
    db.execute("CREATE TABLE hub_heartbeat (holder TEXT PRIMARY KEY, written_at TEXT NOT NULL)")


def probe_write(path: Path, holder: str, at: str, timeout_s: float) -> None:
    """Write ``holder``'s heartbeat row and commit (fsync), or raise :class:`WriteFailed`."""
    for target in (path, path.parent, *_wal_files(path)):
        if not os.access(target, os.W_OK):
            raise WriteFailed(explain(OSError(f"{target} is read-only for the hub's user")))
    try:
        conn = sqlite3.connect(path, timeout=timeout_s, isolation_level=None)
    except sqlite3.Error as exc:
        raise WriteFailed(explain(exc)) from exc
    try:
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO hub_heartbeat (holder, written_at) VALUES (?, ?) "
            "ON CONFLICT (holder) DO UPDATE SET written_at = excluded.written_at",
            (holder, at),
        )
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        raise WriteFailed(explain(exc)) from exc
    finally:
        conn.close()


def _wal_files(path: Path) -> list[Path]:
    return [p for p in (Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


_CAUSES = (
    (
        "locked",
        "database is locked: another process holds its write lock",
        "la base de datos está bloqueada: otro proceso tiene el bloqueo de escritura",
    ),
    (
        "readonly",
        "database is read-only (file permissions or a read-only file system)",
        "la base de datos es de solo lectura (permisos o sistema de archivos de solo lectura)",
    ),
    ("full", "disk is full", "el disco está lleno"),
    (
        "unable to open",
        "database file cannot be opened",
        "no se puede abrir el archivo de la base de datos",
    ),
    ("i/o error", "disk I/O error", "error de E/S del disco"),
    (
        "statement timeout",  # PostgreSQL: the probe's statement_timeout ran out
        "database did not take a write in time (a lock held, or the server overloaded)",
        "la base de datos no aceptó una escritura a tiempo (un bloqueo, o el servidor "
        "sobrecargado)",
    ),
)


def explain(exc: BaseException) -> str:
    """A bilingual sentence for a write error; SQLite's own words are kept at the end."""
    text = str(exc)
    lowered = text.lower().replace("read-only", "readonly")
    for needle, english, spanish in _CAUSES:
        if needle in lowered:
            return f"{english} / {spanish} ({text})"
    return f"database write failed / falló la escritura en la base de datos ({text})"
