"""Every public key a station has had, from when (migration 101): confirmations verify with the
key that was the station's when they occurred.

``station_keys`` keeps one row per station (its current key, replaced at
re-enrollment). Triggers on it append each new key to
``station_key_history`` (station, key SHA-256, PEM, valid_from = the time the
hub recorded it), so rotating a key never loses the old one; existing keys
are copied in by the migration. The key valid at a time T is the newest one
recorded at or before T; an event older than the station's first recorded key
is checked against that first key (a station signs with its key before ops
register it at the hub).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import sqlite_utils


def m101_station_key_history(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE station_key_history (
            station_id TEXT NOT NULL,
            key_sha256 TEXT NOT NULL,
            public_key_pem TEXT NOT NULL,
            valid_from TEXT NOT NULL,
            PRIMARY KEY (station_id, valid_from, key_sha256)
        )
        """
    )
    db.execute(
        "INSERT INTO station_key_history SELECT station_id, key_sha256, public_key_pem, set_at "
        "FROM station_keys"
    )
    db.execute(
        "CREATE TRIGGER station_keys_history_insert AFTER INSERT ON station_keys BEGIN "
        "INSERT OR IGNORE INTO station_key_history VALUES "
        "(NEW.station_id, NEW.key_sha256, NEW.public_key_pem, NEW.set_at); END"
    )
    db.execute(
        "CREATE TRIGGER station_keys_history_update AFTER UPDATE ON station_keys "
        "WHEN NEW.key_sha256 IS NOT OLD.key_sha256 BEGIN "
        "INSERT OR IGNORE INTO station_key_history VALUES "
        "(NEW.station_id, NEW.key_sha256, NEW.public_key_pem, NEW.set_at); END"
    )


@dataclass(frozen=True)
class HistoricKey:
    key_sha256: str
    public_key_pem: str
    valid_from: datetime


def _when(text: str) -> datetime:
    at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return at if at.tzinfo else at.replace(tzinfo=UTC)


class KeyHistory(Protocol):
    def keys(self, station_id: str) -> list[HistoricKey]:
        """The station's keys, oldest first."""
        ...


class StationKeyHistory:
    """Read side of ``station_key_history`` (one short-lived connection per call)."""

    def __init__(self, database_path: Path) -> None:
        self.path = database_path

    def keys(self, station_id: str) -> list[HistoricKey]:
        """The station's keys, oldest first."""
        conn = sqlite3.connect(self.path)
        try:
            return key_history_rows(conn, station_id)
        finally:
            conn.close()


def key_history_rows(conn: Any, station_id: str) -> list[HistoricKey]:
    """A station's keys, oldest first, read on `conn` (either engine)."""
    rows = conn.execute(
        "SELECT key_sha256, public_key_pem, valid_from FROM station_key_history "
        "WHERE station_id = ?",
        (station_id,),
    ).fetchall()
    return sorted((HistoricKey(k, pem, _when(at)) for k, pem, at in rows), key=_order)


def _order(key: HistoricKey) -> datetime:
    return key.valid_from


def key_valid_at(keys: list[HistoricKey], at: datetime) -> HistoricKey | None:
    """The key valid at ``at``: the newest recorded at or before it, else the first one."""
    if not keys:
        return None
    valid = [k for k in keys if k.valid_from <= at]
    return valid[-1] if valid else keys[0]
