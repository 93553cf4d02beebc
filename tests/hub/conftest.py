"""Fixtures of hub tests: a migrated SQLite store in tmp_path, an API client, tokens per role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.metrics import HubMetrics
from hub.settings import HubSettings
from hub.storage.sqlite import SQLiteStore
from hub.tokens import Role, create_token
from tests.hub.events import STATION, UNIT


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "hub.sqlite3")
    s.migrate()
    s.register_station(STATION, UNIT, "2025-01-01T00:00:00.000000Z")
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def client(store: SQLiteStore, tmp_path: Path) -> Iterator[TestClient]:
    settings = HubSettings(data_dir=tmp_path / "hub-data")
    with TestClient(create_app(store, HubMetrics(), settings=settings)) as c:
        yield c


@pytest.fixture
def tokens(store: SQLiteStore) -> dict[Role, dict[str, str]]:
    """Authorization headers, one per role."""
    return {
        role: {"Authorization": f"Bearer {create_token(store, f'sys-{role.value}', role)}"}
        for role in Role
    }
