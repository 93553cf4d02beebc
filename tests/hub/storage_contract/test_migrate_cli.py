"""`puente hub migrate` brings either database up to date (the version of the last migration)
and changes nothing when run again."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.storage import pg_schema, schema
from tests.hub.storage_contract.conftest import PG_URL, _admin, _with_db

runner = CliRunner()


def _config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(f'data_dir = "{tmp_path / "data"}"\ndatabase_url = "{url}"\n')
    monkeypatch.setenv("PUENTE_HUB_CONFIG", str(path))
    return path


def test_migrate_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "elsewhere" / "hub.sqlite3"
    _config(tmp_path, monkeypatch, f"sqlite:///{db}")
    version = max(v for v, _ in schema.MIGRATIONS)
    for _ in range(2):
        result = runner.invoke(app, ["migrate"])
        assert result.exit_code == 0, result.output
        assert f"schema version {version} / versión del esquema {version}" in result.stdout
    assert db.exists()


def test_migrate_postgres(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    admin = _admin()
    name = f"puente_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        _config(tmp_path, monkeypatch, _with_db(PG_URL, name))
        version = max(v for v, _, _ in pg_schema.MIGRATIONS)
        for _ in range(2):
            result = runner.invoke(app, ["migrate"])
            assert result.exit_code == 0, result.output
            assert f"schema version {version}" in result.stdout
        import psycopg

        with psycopg.connect(_with_db(PG_URL, name)) as conn:
            applied = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
        assert sorted(applied) == sorted(v for v, _, _ in pg_schema.MIGRATIONS)
        assert not (tmp_path / "data" / "hub.sqlite3").exists()  # no SQLite file made
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_an_unknown_scheme_is_refused_in_both_languages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _config(tmp_path, monkeypatch, "mysql://x")
    result = runner.invoke(app, ["migrate"])
    assert result.exit_code != 0
    assert "database_url no soportada" in str(result.exception)
