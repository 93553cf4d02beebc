"""Runs the hub's repository SQL on PostgreSQL: a connection facade with the few methods the
repositories use (execute, executemany, fetchone, fetchall, rowcount, iteration).

The repositories (readings, scans, signatures, registry, users, case views, case queries)
are written once in the SQL both engines share. Their only SQLite spellings are translated
here, by hand because they are five fixed patterns: ``?`` placeholders become ``%s``;
``json_extract(column, '$.field')`` becomes ``(column::json ->> 'field')``;
``INSERT OR IGNORE`` becomes ``ON CONFLICT DO NOTHING``; ``INSERT OR REPLACE`` becomes an
upsert on the table's key (pg_schema.CONFLICT_KEYS); a unique violation is raised as
`hub.storage.base.Duplicate`, which the repositories catch beside sqlite3.IntegrityError.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Any

import psycopg

from hub.storage.base import Duplicate
from hub.storage.pg_schema import CONFLICT_KEYS

_REPLACE = re.compile(r"INSERT OR REPLACE INTO (\w+) \(([^)]*)\)", re.S)
_JSON_FIELD = re.compile(r"json_extract\(([\w.]+), '\$\.(\w+)'\)")


@lru_cache(maxsize=512)
def translate(sql: str) -> str:
    """SQLite spelling → PostgreSQL spelling of one statement."""
    out = sql.replace("%", "%%").replace("?", "%s")
    out = _JSON_FIELD.sub(r"(\1::json ->> '\2')", out)
    if "INSERT OR IGNORE" in out:
        out = out.replace("INSERT OR IGNORE", "INSERT") + " ON CONFLICT DO NOTHING"
    m = _REPLACE.search(out)
    if m:
        table, columns = m.group(1), [c.strip() for c in m.group(2).split(",")]
        key = CONFLICT_KEYS[table]
        sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != key)
        out = out.replace("INSERT OR REPLACE", "INSERT") + (
            f" ON CONFLICT ({key}) DO UPDATE SET {sets}"
        )
    return out


class Rows:
    """A fetched result: rows read at once (the connection goes back to the pool)."""

    def __init__(self, rows: list[tuple[Any, ...]], rowcount: int, trips: int = 1) -> None:
        self._rows = rows
        self._at = 0
        self.rowcount = rowcount
        self.trips = trips  # round trips to the server it took

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._at >= len(self._rows):
            return None
        self._at += 1
        return self._rows[self._at - 1]

    def fetchall(self) -> list[tuple[Any, ...]]:
        rest, self._at = self._rows[self._at :], len(self._rows)
        return rest

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.fetchall())


def run(conn: psycopg.Connection[Any], sql: str, args: Sequence[Any] = ()) -> Rows:
    try:
        cur = conn.execute(translate(sql), list(args))
    except psycopg.errors.UniqueViolation as exc:
        raise Duplicate(str(exc)) from exc
    rows = [_plain(r) for r in cur.fetchall()] if cur.description is not None else []
    return Rows(rows, cur.rowcount)


_PLAIN_INSERT = re.compile(r"INSERT INTO (\w+) \(([\w, ]+)\) VALUES \([%s, ]+\)", re.S)


@lru_cache(maxsize=512)
def as_copy(sql: str) -> str | None:
    """``COPY table (columns) FROM STDIN`` for a plain ``INSERT INTO table (columns) VALUES
    (%s, …)`` (no conflict clause: both refuse a duplicate key alike); None for the rest."""
    m = _PLAIN_INSERT.fullmatch(sql)
    return f"COPY {m.group(1)} ({m.group(2)}) FROM STDIN" if m else None


_IGNORING_INSERT = re.compile(
    r"INSERT INTO (\w+) \(([\w, ]+)\) VALUES \([%s, ]+\) ON CONFLICT DO NOTHING", re.S
)
STAGED_MIN_ROWS = 20  # fewer: executemany (one pipeline) costs less than COPY + INSERT


@lru_cache(maxsize=512)
def as_staged(sql: str) -> tuple[str, str, str] | None:
    """For ``INSERT INTO t (columns) VALUES (%s, …) ON CONFLICT DO NOTHING``: the statements
    that do the same for many rows at once — a per-connection staging table (the columns
    only, no constraints, emptied at commit), its COPY, and one ``INSERT … SELECT … ORDER BY
    ord ON CONFLICT DO NOTHING`` taking the rows out in their order. None for the rest."""
    m = _IGNORING_INSERT.fullmatch(sql)
    if m is None:
        return None
    table, columns = m.group(1), m.group(2)
    stage = f"staged_{table}"
    return (
        f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "
        f"SELECT 0 AS ord, {columns} FROM {table} WITH NO DATA",
        f"COPY {stage} (ord, {columns}) FROM STDIN",
        f"WITH s AS (DELETE FROM {stage} RETURNING *) INSERT INTO {table} ({columns}) "
        f"SELECT {columns} FROM s ORDER BY ord ON CONFLICT DO NOTHING",
    )


def run_many(conn: psycopg.Connection[Any], sql: str, args: Iterable[Sequence[Any]]) -> Rows:
    """Every row of ``args``: a plain INSERT by COPY (one stream, no statement per row; the
    server parses each value as the column's type); an ``INSERT OR IGNORE`` of many rows by
    COPY into a staging table and one INSERT … SELECT (`as_staged`); the rest by
    executemany."""
    batch = [list(a) for a in args]
    if not batch:
        return Rows([], 0, trips=0)
    pg = translate(sql)
    copy_sql = as_copy(pg)
    staged = as_staged(pg) if copy_sql is None and len(batch) >= STAGED_MIN_ROWS else None
    try:
        with conn.cursor() as cur:
            if staged is not None:
                create, copy_in, insert = staged
                # Every time: one made in a transaction that rolled back is gone again.
                cur.execute(create)
                with cur.copy(copy_in) as copy:
                    for i, row in enumerate(batch):
                        copy.write_row([i, *row])
                cur.execute(insert)
                trips = 4  # CREATE, COPY (start, then data and end), INSERT
            elif copy_sql is None:
                cur.executemany(pg, batch)  # one pipeline, one sync
                trips = 1
            else:
                with cur.copy(copy_sql) as copy:
                    for row in batch:
                        copy.write_row(row)
                trips = 2
            return Rows([], cur.rowcount, trips)
    except psycopg.errors.UniqueViolation as exc:
        raise Duplicate(str(exc)) from exc


def _plain(row: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)


class Connection:
    """`execute`/`executemany` like sqlite3.Connection, on one psycopg connection."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.raw = conn
        self.trips = 0  # round trips of the statements run through it

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Rows:
        rows = run(self.raw, sql, args)
        self.trips += rows.trips
        return rows

    def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> Rows:
        rows = run_many(self.raw, sql, args)
        self.trips += rows.trips
        return rows


class PooledConnection:
    """Each statement on a connection borrowed from the pool for it (autocommit reads)."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Rows:
        with self._pool.connection() as conn:
            return run(conn, sql, args)

    def executemany(self, sql: str, args: Iterable[Sequence[Any]]) -> Rows:
        with self._pool.connection() as conn, conn.transaction():
            return run_many(conn, sql, args)
