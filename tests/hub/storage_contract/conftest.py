"""Stores of both backends for the storage contract suite: a migrated SQLite file in tmp_path,
and a migrated PostgreSQL database created for the test and dropped after it.

PostgreSQL is a real server: PUENTE_TEST_PG_URL (scripts/test starts a private cluster and sets
it when none listens), else the one on 127.0.0.1:5432 (trust auth, user postgres). Without a
reachable server the PostgreSQL half is skipped with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.storage.sqlite import SQLiteStore

PG_URL = os.environ.get("PUENTE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _admin() -> Any:
    import psycopg

    try:
        return psycopg.connect(PG_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL at {PG_URL} (scripts/test starts one): {exc}")


def _with_db(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_store(backend: str, tmp_path: Path) -> Iterator[Callable[[], Any]]:
    """A factory of stores on ONE database (several = several hub processes/workers)."""
    opened: list[Any] = []
    if backend == "sqlite":
        path = tmp_path / "hub.sqlite3"

        def make() -> Any:
            s = SQLiteStore(path)
            s.migrate()
            opened.append(s)
            return s

        yield make
        for s in opened:
            s.close()
        return
    from hub.storage.postgres import PostgresStore

    admin = _admin()
    name = f"puente_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_db(PG_URL, name)

    def make_pg() -> Any:
        s = PostgresStore(url)
        s.migrate()
        opened.append(s)
        return s

    try:
        yield make_pg
    finally:
        for s in opened:
            s.close()
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def database() -> Iterator[str]:
    """The URL of an empty PostgreSQL database of this test's own (hub processes migrate it)."""
    admin = _admin()
    name = f"puente_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_db(PG_URL, name)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def store(make_store: Callable[[], Any]) -> Any:
    return make_store()
