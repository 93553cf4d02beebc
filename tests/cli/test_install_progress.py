"""`./scripts/demo` and `scripts/test` install with progress: a step line per stage and a line
per package pip fetches, builds or installs (never minutes of silence), and pip's own error
when an install fails. Runs the real shell functions of scripts/_env.sh with the real pip of
this environment (installs that change nothing, and one that cannot succeed)."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Thirty distributions installed here: "already satisfied" without touching the network.
PACKAGES = sorted(
    {d.metadata["Name"] for d in distributions() if d.metadata["Name"] not in (None, "puente")}
)[:30]


def _bash(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", f"set -euo pipefail; . scripts/_env.sh; {script}"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PUENTE_VENV": sys.prefix, "HOME": str(Path.home())},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_pip_install_reports_packages_as_it_goes() -> None:
    run = _bash(
        f"step 'installing / instalando'; pip_install --no-index --no-deps {' '.join(PACKAGES)}"
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("==> ") and lines[0].endswith("installing / instalando")
    assert "    ... 25 packages checked / revisados" in lines  # not silent, not a wall of text
    assert not any("Requirement already satisfied" in line for line in lines)


def test_a_failed_install_says_so_with_pips_own_words() -> None:
    run = _bash("pip_install --no-index no-such-package-for-puente-tests")
    assert run.returncode != 0
    assert "pip install failed / pip install falló" in run.stderr
    assert "no-such-package-for-puente-tests" in run.stderr  # pip's reason, not filtered away


def test_the_filter_keeps_one_line_per_package_of_a_fresh_install() -> None:
    fresh = "\n".join(
        [
            "Collecting paho-mqtt<3,>=2.1",
            "  Downloading paho_mqtt-2.1.0-py3-none-any.whl (67 kB)",
            "Requirement already satisfied: idna in ./.venv/lib/python3.11/site-packages",
            "Building wheels for collected packages: puente",
            "  Building editable for puente (pyproject.toml): started",
            "Installing collected packages: paho-mqtt, puente",
            "Successfully installed paho-mqtt-2.1.0 puente-0.1.0",
        ]
    )
    run = subprocess.run(
        ["bash", "-c", ". scripts/_env.sh; pip_steps"],
        cwd=ROOT,
        input=fresh + "\n",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 0
    assert run.stdout.splitlines() == [
        "    Collecting paho-mqtt<3,>=2.1",
        "    Downloading paho_mqtt-2.1.0-py3-none-any.whl (67 kB)",
        "    Building wheels for collected packages: puente",
        "    Building editable for puente (pyproject.toml): started",
        "    Installing collected packages: paho-mqtt, puente",
        "    Successfully installed paho-mqtt-2.1.0 puente-0.1.0",
    ]
