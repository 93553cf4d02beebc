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
        # `puente agent` became the service process (os.execv): same pid, no typer in it.
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        assert cmdline[1:5] == [b"-m", b"puente_cli.agent", b"--config", str(config).encode()]
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


def _run(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    env.pop("PUENTE_AGENT_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        **kw,  # type: ignore[call-overload]
    )


def test_agent_help_names_its_options_in_both_languages() -> None:
    for argv in (["puente_cli.main", "agent", "--help"], ["puente_cli.agent", "--help"]):
        r = _run(argv)
        assert r.returncode == 0, r.stderr
        assert "--config" in r.stdout
        assert "Run the" in r.stdout and "Ejecuta" in r.stdout
    service = _run(["puente_cli.agent", "--help"]).stdout
    assert "--log-level" in service and "--log-human" in service


def test_invalid_configuration_is_refused_naming_the_field(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text('station_id = "st"\nunit_id = "u"\nhttp_port = "not a port"\n')
    for argv in (["puente_cli.main", "agent", "--config"], ["puente_cli.agent", "--config"]):
        r = _run([*argv, str(config)])
        assert r.returncode == 2, r.stdout + r.stderr
        assert "invalid configuration / configuración no válida" in r.stderr
        assert "http_port" in r.stderr
    missing = _run(["puente_cli.agent", "--config", str(tmp_path / "nope.toml")])
    assert missing.returncode == 2
    assert "no existe el archivo de configuración" in missing.stderr


def test_the_puente_commands_log_options_reach_the_agent_process(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(
        f'station_id = "st-log"\nunit_id = "u"\ndata_dir = "{tmp_path / "data"}"\n'
        f'broker_url = "{mosquitto.url}"\nhttp_port = 0\ngrpc_port = 0\n'
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for key in ("PUENTE_AGENT_CONFIG", "PUENTE_LOG_HUMAN", "PUENTE_LOG_LEVEL"):
        env.pop(key, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "puente_cli.main", "--log-human", "agent", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        seen: list[str] = []
        line = proc.stdout.readline()
        while line and "running / agente en marcha" not in line:
            seen.append(line)
            line = proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=15)
    started = [s for s in seen if "agent started" in s]
    assert started, "".join(seen) + out
    assert not started[0].lstrip().startswith("{")  # human lines, not the JSON default
