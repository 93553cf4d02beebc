"""The hub CLI: tokens shown once and stored hashed, stations registered, the hub run."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.tokens import token_sha256
from tests.brokers import Mosquitto, free_port, wait_port

runner = CliRunner()


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(f'data_dir = "{tmp_path / "data"}"\n')
    monkeypatch.setenv("PUENTE_HUB_CONFIG", str(path))  # restored after the test
    return path


def test_token_create_prints_it_once_and_stores_only_its_hash(config: Path) -> None:
    result = runner.invoke(
        app, ["token", "create", "--name", "medi", "--role", "clinical", "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[0]
    assert len(token) >= 43
    db = sqlite3.connect(config.parent / "data" / "hub.sqlite3")
    rows = db.execute("SELECT token_sha256, name, role FROM api_tokens").fetchall()
    assert rows == [(token_sha256(token), "medi", "clinical")]
    dump = "\n".join(db.iterdump())
    assert token not in dump
    db.close()
    revoked = runner.invoke(app, ["token", "revoke", "--name", "medi", "--config", str(config)])
    assert revoked.exit_code == 0
    again = runner.invoke(app, ["token", "revoke", "--name", "medi", "--config", str(config)])
    assert again.exit_code == 1
    assert "no hay token activo" in again.output


def test_bad_role_is_refused(config: Path) -> None:
    result = runner.invoke(app, ["token", "create", "--name", "x", "--role", "admin"])
    assert result.exit_code != 0


def test_station_add_and_list(config: Path) -> None:
    added = runner.invoke(app, ["station", "add", "--station", "st-9", "--unit", "u-1"])
    assert added.exit_code == 0, added.output
    assert "registered / registrada" in added.stdout
    clash = runner.invoke(app, ["station", "add", "--station", "st-9", "--unit", "u-2"])
    assert clash.exit_code == 1
    bad = runner.invoke(app, ["station", "add", "--station", "a/b", "--unit", "u-2"])
    assert bad.exit_code == 1
    listing = runner.invoke(app, ["station", "list"])
    assert listing.stdout.splitlines()[1].split("\t")[:3] == ["st-9", "u-1", "no"]


def test_bare_command_runs_the_hub_until_sigterm(tmp_path: Path, mosquitto: Mosquitto) -> None:
    port = free_port()
    config = tmp_path / "run.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\nbroker_url = "{mosquitto.url}"\n'
        f'http_port = {port}\nmqtt_client_id = "cli-test"\n'
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=Path(__file__).parents[2],
    )
    try:
        wait_port(port, 15)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json()["db"] is True
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out.decode()
    assert b"stopping / deteniendo" in out
