"""The two schemas answer the same queries: after migrating, every table has the same columns,
in the same order, on SQLite and on PostgreSQL (a new SQLite migration needs its PostgreSQL
counterpart in hub/storage/pg_schema.py, with the same version number)."""

from __future__ import annotations

import uuid
from pathlib import Path

from hub.storage import pg_schema, schema
from hub.storage.postgres import PostgresStore
from hub.storage.sqlite import SQLiteStore
from tests.hub.storage_contract.conftest import PG_URL, _admin, _with_db

SQLITE_ONLY = {"sqlite_sequence", "schema_migrations"}


def test_both_backends_have_the_same_tables_and_columns(tmp_path: Path) -> None:
    lite = SQLiteStore(tmp_path / "hub.sqlite3")
    lite.migrate()
    conn = lite._conn()
    tables = [
        r[0]
        for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        if r[0] not in SQLITE_ONLY
    ]
    sqlite_cols = {t: [c[1] for c in conn.execute(f'PRAGMA table_info("{t}")')] for t in tables}
    lite.close()

    admin = _admin()
    name = f"puente_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        pg = PostgresStore(_with_db(PG_URL, name))
        pg.migrate()
        rows = pg._conn().execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name != 'schema_migrations' "
            "ORDER BY table_name, ordinal_position"
        )
        pg_cols: dict[str, list[str]] = {}
        for table, column in rows:
            pg_cols.setdefault(table, []).append(column)
        pg.close()
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    assert pg_cols == sqlite_cols
    sqlite_versions = {v for v, _ in schema.MIGRATIONS} - {301}  # 301: an SQLite-only backfill
    assert sqlite_versions == {v for v, _, _ in pg_schema.MIGRATIONS}
