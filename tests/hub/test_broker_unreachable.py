"""A hub whose broker cannot be reached says so within seconds and keeps retrying (issue 17)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.brokers import free_port


def test_hub_says_it_cannot_reach_the_broker(tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\nbroker_url = "mqtt://127.0.0.1:{free_port()}"\n'
        "http_port = 0\nreconnect_max_s = 1\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUENTE_HUB_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "puente_cli.main", "hub", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        started = time.monotonic()
        seen = []
        while time.monotonic() - started < 20:
            line = proc.stdout.readline()
            seen.append(line)
            if "cannot reach the broker" in line:
                break
        else:
            raise AssertionError("".join(seen))
        assert time.monotonic() - started < 15  # within seconds of starting (imports included)
        assert proc.poll() is None  # still running, retrying
    finally:
        proc.terminate()
        proc.wait(20)
