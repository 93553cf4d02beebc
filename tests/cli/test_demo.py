"""`puente demo` runs the whole pipeline on embedded defaults and stops cleanly."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e

DEMO = [sys.executable, "-m", "puente_cli.main", "demo"]
PORTS = ["--hub-port", "0", "--agent-port", "0", "--grpc-port", "0"]


def test_demo_stores_a_sample_case_and_exits(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    run = subprocess.run(
        [*DEMO, "--data-dir", str(data), *PORTS, "--exit-after-sample"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "COEX-DEMO-0001" in run.stdout
    assert "vital_signs" in run.stdout
    assert "/console/cases/COEX-DEMO-0001 (user / usuario demo-clinician" in run.stdout
    assert "/console/fleet (user / usuario demo-ops" in run.stdout
    con = sqlite3.connect(data / "hub" / "hub.sqlite3")
    kinds = dict(
        con.execute(
            "SELECT kind, count(*) FROM events WHERE case_id='COEX-DEMO-0001' GROUP BY kind"
        )
    )
    assert kinds["vital_signs"] == 1
    # The simulated monitor came up and said so.
    (status_events,) = con.execute(
        "SELECT count(*) FROM events WHERE kind='device_status'"
    ).fetchone()
    assert status_events >= 1
    # Run again on the same data dir: still works, the case is reused, no fact duplicated.
    again = subprocess.run(
        [*DEMO, "--data-dir", str(data), *PORTS, "--exit-after-sample"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    (count,) = con.execute(
        "SELECT count(*) FROM events WHERE case_id='COEX-DEMO-0001' AND kind='vital_signs'"
    ).fetchone()
    assert count == 1
    assert "already recorded by an earlier run" in again.stdout


def test_demo_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*DEMO, "--data-dir", str(tmp_path / "demo"), *PORTS],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        hub_url = None
        deadline = time.monotonic() + 90
        lines = []
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl-C" in line:
                break
        text = "".join(lines)
        assert "Ctrl-C" in text, text
        # A telemedicine stream runs for the live view and the central station.
        assert "/console/cases/COEX-DEMO-0001/live" in text and "/console/central" in text
        for token in text.split():
            if token.startswith("http://127.0.0.1:") and token.endswith("/docs"):
                hub_url = token.removesuffix("/docs")
                break
        assert hub_url is not None, text
        assert httpx.get(f"{hub_url}/healthz", timeout=5).status_code == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
