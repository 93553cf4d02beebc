"""``python -m edge_agent.cli``: runs until SIGTERM, stops cleanly; ``status`` reads the API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.agent.test_uplink import read_retained_state
from tests.brokers import Mosquitto, free_port

ROOT = Path(__file__).resolve().parents[2]


def test_agent_runs_until_sigterm_and_status_prints_a_table(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    http_port = free_port()
    config = tmp_path / "agent.toml"
    config.write_text(
        f"""
station_id = "st-cli"
unit_id = "unit-1"
data_dir = "{tmp_path / "data"}"
broker_url = "{mosquitto.url}"
http_port = {http_port}
grpc_port = 0
"""
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PUENTE_AGENT_CONFIG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge_agent.cli", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        while line and "running" not in line:
            line = proc.stdout.readline()
        assert f"http://127.0.0.1:{http_port}" in line
        status = subprocess.run(
            [sys.executable, "-m", "edge_agent.cli", "status", "--config", str(config)],
            capture_output=True,
            text=True,
            env={**env, "COLUMNS": "200"},
            cwd=ROOT,
            timeout=30,
        )
        assert status.returncode == 0, status.stdout + status.stderr
        assert "st-cli" in status.stdout
        assert "0 events" in status.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
    assert proc.returncode == 0, out
    assert "agent stopped / agente detenido" in out
    state = read_retained_state(mosquitto.url, station_id="st-cli")
    assert state.online is False
