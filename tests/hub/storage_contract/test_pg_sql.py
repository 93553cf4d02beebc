"""The PostgreSQL facade's fast path: a plain INSERT of many rows goes by COPY, anything with a
conflict clause (or without a column list) by executemany; both refuse a duplicate key alike."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from hub.storage.base import Duplicate
from hub.storage.pg_sql import as_copy, translate


def test_only_plain_inserts_with_columns_become_copy() -> None:
    plain = translate("INSERT INTO vital_readings (event_id, value) VALUES (?, ?)")
    assert as_copy(plain) == "COPY vital_readings (event_id, value) FROM STDIN"
    for sql in (
        "INSERT OR IGNORE INTO vital_sets (event_id, mode) VALUES (?, ?)",
        "INSERT OR REPLACE INTO unit_time_zones (unit_id, time_zone) VALUES (?, ?)",
        "INSERT INTO dispensings VALUES (?, ?)",
        "INSERT INTO events (event_id) SELECT event_id FROM staging",
        "INSERT INTO t (a) VALUES (?) ON CONFLICT (a) DO UPDATE SET a = excluded.a",
        "UPDATE stations SET online = ? WHERE station_id = ?",
    ):
        assert as_copy(translate(sql)) is None, sql


def test_many_rows_are_stored_and_a_duplicate_key_is_refused(store: Any, backend: str) -> None:
    sql = "INSERT INTO unit_time_zones (unit_id, time_zone) VALUES (?, ?)"
    with store._write() as conn:
        conn.executemany(sql, [(f"u{i}", "America/Guatemala") for i in range(50)])
    assert store._conn().execute("SELECT count(*) FROM unit_time_zones").fetchone()[0] == 50
    refused = Duplicate if backend == "postgres" else sqlite3.IntegrityError
    with pytest.raises(refused), store._write() as conn:
        conn.executemany(sql, [("new", "America/Guatemala"), ("u3", "America/Lima")])
    assert store._conn().execute("SELECT count(*) FROM unit_time_zones").fetchone()[0] == 50
