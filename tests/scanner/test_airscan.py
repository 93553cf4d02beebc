"""The eSCL simulator through Debian's sane-airscan: SANE → eSCL → our simulator, and back.

SANE starts once per process with one config dir, so the SANE side runs in a
child process whose SANE_CONFIG_DIR loads only ``airscan``, pointed at the
simulator (discovery off).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.scanner.escl_sim import EsclSimulator

CHILD = """
import json, sys
from drivers.scanner.base import ScanSettings, ScanError
from drivers.scanner.sane_backend import SaneScanner, discover
found = [d.name for d in discover(sys.argv[1])]
s = SaneScanner("airscan:e0:PuenteSim", sys.argv[1])
s.open()
caps = s.capabilities()
out = {"found": found, "sources": list(caps.sources), "pages": [], "error": ""}
try:
    for page in s.scan(ScanSettings("feeder", "gray", 100, 100, 100)):
        out["pages"].append([page.number, page.image.mode, page.image.size[0]])
except ScanError as exc:
    out["error"] = exc.code
print(json.dumps(out))
"""


@pytest.fixture
def sim() -> Iterator[EsclSimulator]:
    with EsclSimulator() as s:
        yield s


def _through_airscan(sim: EsclSimulator, tmp_path: Path) -> dict[str, object]:
    (tmp_path / "dll.conf").write_text("airscan\n")
    (tmp_path / "airscan.conf").write_text(
        f'[devices]\n"PuenteSim" = {sim.url}, eSCL\n[options]\ndiscovery = disable\n'
    )
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_feeder_scan_of_the_simulator_through_sane_airscan(
    sim: EsclSimulator, tmp_path: Path
) -> None:
    sim.state.sheets_in_feeder = 2
    out = _through_airscan(sim, tmp_path)
    assert out["found"] == ["airscan:e0:PuenteSim"]
    assert out["sources"] == ["flatbed", "feeder", "duplex"]
    assert out["pages"] == [[1, "L", 394], [2, "L", 394]]  # 100 mm at 100 dpi
    assert out["error"] == ""
    assert "POST /eSCL/ScanJobs" in sim.requests


def test_a_jam_seen_through_sane_airscan_is_a_paper_jam(sim: EsclSimulator, tmp_path: Path) -> None:
    sim.state.sheets_in_feeder, sim.state.jam_after_pages = 3, 1
    out = _through_airscan(sim, tmp_path)
    assert out["pages"] == [[1, "L", 394]]
    assert out["error"] == "paper_jam"
