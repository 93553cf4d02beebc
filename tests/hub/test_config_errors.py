"""Hub configuration mistakes name the file, line and key, and say what to do (issue 17)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PUENTE = [sys.executable, "-m", "puente_cli.main"]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUENTE_HUB_")}
    return subprocess.run(
        [*PUENTE, *args], capture_output=True, text=True, timeout=60, cwd=cwd, env=env
    )


def test_bad_value_and_unknown_key(tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\nhttp_port = "abc"\nbogus_key = 1\n')
    for args in (("hub", "user", "list"), ("hub", "station", "list"), ("hub",)):
        done = run(*args[:1], "--config", str(config), *args[1:], cwd=tmp_path)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert f"{config}:2: http_port" in done.stderr and "'abc'" in done.stderr
        assert f"{config}:3: bogus_key: unknown key" in done.stderr
        assert "--config" in done.stderr
        assert "Traceback" not in done.stderr and "pydantic.dev" not in done.stderr


def test_broken_toml(tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    config.write_text('data_dir = "unterminated\n')
    done = run("hub", "--config", str(config), "user", "list", cwd=tmp_path)
    assert done.returncode == 2
    assert str(config) in done.stderr and "line 1" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_split_role_on_sqlite_is_refused_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\nrole = "api"\n')
    done = run("hub", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert f"{config}:2: role" in done.stderr and "postgresql://" in done.stderr
    assert "Traceback" not in done.stderr
    config.write_text(f'data_dir = "{tmp_path / "data"}"\n')
    done = run("hub", "--config", str(config), "--role", "ingest", cwd=tmp_path)
    assert done.returncode == 2 and "role" in done.stderr and "PUENTE_HUB_ROLE" in done.stderr
