"""The PostgreSQL facade's fast paths: a plain INSERT of many rows goes by COPY, an INSERT OR
IGNORE of many rows by COPY into a staging table and one INSERT … SELECT, the rest by
executemany; both engines refuse a duplicate key alike and ignore one alike."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from hub.storage.base import Duplicate
from hub.storage.pg_sql import STAGED_MIN_ROWS, as_copy, as_staged, translate


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


def test_only_ignoring_inserts_with_columns_are_staged() -> None:
    sql = translate("INSERT OR IGNORE INTO vital_sets (event_id, mode) VALUES (?, ?)")
    create, copy, insert = as_staged(sql) or ("", "", "")
    assert "CREATE TEMP TABLE IF NOT EXISTS staged_vital_sets" in create
    assert copy == "COPY staged_vital_sets (ord, event_id, mode) FROM STDIN"
    assert insert.endswith("ORDER BY ord ON CONFLICT DO NOTHING")
    for other in (
        "INSERT INTO vital_readings (event_id, value) VALUES (?, ?)",
        "INSERT OR IGNORE INTO dispensings VALUES (?, ?)",
        "INSERT OR REPLACE INTO unit_time_zones (unit_id, time_zone) VALUES (?, ?)",
    ):
        assert as_staged(translate(other)) is None, other


def test_many_ignoring_inserts_keep_the_first_of_each_key_after_a_rollback_too(
    store: Any, backend: str
) -> None:
    sql = "INSERT OR IGNORE INTO unit_time_zones (unit_id, time_zone) VALUES (?, ?)"
    many = STAGED_MIN_ROWS + 5
    with pytest.raises(RuntimeError), store._write() as conn:  # the staging table goes too
        conn.executemany(sql, [(f"u{i}", "America/Lima") for i in range(many)])
        raise RuntimeError("rolled back")
    with store._write() as conn:
        conn.executemany(sql, [("u0", "America/Guatemala")])
        rows = [(f"u{i}", "America/Lima") for i in range(many)] + [("u1", "Europe/Madrid")]
        conn.executemany(sql, rows)  # u0 kept as it was; u1's second row ignored
    read = dict(store._conn().execute("SELECT unit_id, time_zone FROM unit_time_zones").fetchall())
    assert len(read) == many
    assert read["u0"] == "America/Guatemala" and read["u1"] == "America/Lima"
