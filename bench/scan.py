"""bench/scan: seconds from a scan request to the PDF durable at the station, vs ``scanimage``.

Run: ``.venv/bin/python -m bench.scan`` (``--repeat N``). Measures, in one run,
for 1 page (flatbed) and 10 pages (feeder) at 300 dpi grey from SANE's
``test:0`` (its whole 200 x 200 mm area):
- the agent: ``POST /v1/scans?wait=true`` to an agent in this process → pages
  scanned, JPEG-encoded, assembled with img2pdf, the body fsynced, the
  ScannedDocument event fsynced in the outbox (the answer comes after that);
- the baseline: ``scanimage`` writing the same pages (PNM files) in the same run;
- the ratio agent / scanimage, and the PDF's bytes per page.
Two test pictures: ``Grid`` (black lines on white, like a form) and ``Color
pattern`` (grey gradients in grey mode: a photograph-like worst case for size).
Writes bench/results/scan.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from tests.brokers import free_port
from tests.scanning import sane_test_dir

ORIGIN = "https://bench.example"
DPI = 300


def scanimage_seconds(pages: int, picture: str, out: Path) -> float:
    """``scanimage`` writing ``pages`` PNM files of the same settings (process start included)."""
    if shutil.which("scanimage") is None:
        raise SystemExit("scanimage is missing: apt-get install sane-utils")
    source = "Flatbed" if pages == 1 else "Automatic Document Feeder"
    args = [
        "scanimage",
        "-d",
        "test:0",
        "--mode",
        "Gray",
        "--resolution",
        str(DPI),
        "--source",
        source,
        "--test-picture",
        picture,
        "--read-return-value",
        "Default",
        "-x",
        "200",
        "-y",
        "200",
        "--format=pnm",
        f"--batch={out}/p%d.pnm",
        f"--batch-count={pages}",
    ]
    env = dict(os.environ, SANE_CONFIG_DIR=sane_test_dir())
    start = time.perf_counter()
    subprocess.run(args, check=True, env=env, capture_output=True)
    elapsed = time.perf_counter() - start
    written = sorted(out.glob("p*.pnm"))
    assert len(written) == pages, f"scanimage wrote {len(written)} pages, not {pages}"
    for f in written:
        f.unlink()
    return elapsed


def agent_scan(agent: AgentService, pages: int) -> tuple[float, dict[str, Any]]:
    body = {
        "device_id": "scanner-1",
        "case_id": "C-BENCH",
        "patient_id": "1234567890101",
        "document_type": "external_lab_result",
        "source": "flatbed" if pages == 1 else "feeder",
        "mode": "gray",
        "resolution_dpi": DPI,
        "max_pages": pages if pages > 1 else 0,
    }
    start = time.perf_counter()
    r = httpx.post(
        f"{agent.http_url}/v1/scans",
        params={"wait": "true"},
        json=body,
        headers={"Origin": ORIGIN, "Content-Type": "application/json"},
        timeout=300,
    )
    elapsed = time.perf_counter() - start
    assert r.status_code == 201, r.text
    result = r.json()["result"]
    assert result["pages"] == pages
    return elapsed, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, Any] = {"dpi": DPI, "mode": "gray", "area_mm": [200, 200]}
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        for picture in ("Grid", "Color pattern"):
            options = {
                "device": "test:0",
                "config_dir": sane_test_dir(),
                "extra_options": {"test-picture": picture, "read-return-value": "Default"},
            }
            settings = AgentSettings(
                station_id="st-bench",
                unit_id="unit-bench",
                data_dir=tmpdir / picture.replace(" ", "-"),
                broker_url=f"mqtt://127.0.0.1:{free_port()}",
                http_port=0,
                grpc_port=0,
                allowed_origins=[ORIGIN],
                devices=[{"device_id": "scanner-1", "driver": "sane", "options": options}],
                device_poll_s=60,
                log_level="WARNING",
            )
            agent = AgentService(settings)
            agent.start()
            try:
                assert agent.wait_ready(10)
                for pages in (1, 10):
                    agent_s, base_s, sizes = [], [], []
                    for _ in range(args.repeat):
                        seconds, result = agent_scan(agent, pages)
                        agent_s.append(seconds)
                        sizes.append(result["size"])
                        base_s.append(scanimage_seconds(pages, picture, tmpdir))
                    a, b = statistics.median(agent_s), statistics.median(base_s)
                    per_page = statistics.median(sizes) / pages
                    key = f"{picture.replace(' ', '_').lower()}_{pages}p"
                    results[key] = {
                        "agent_s": round(a, 3),
                        "scanimage_s": round(b, 3),
                        "ratio": round(a / b, 2),
                        "pdf_bytes": int(statistics.median(sizes)),
                        "pdf_bytes_per_page": int(per_page),
                    }
                    print(
                        f"{picture:<14} {pages:>2} page(s): agent {a:6.3f} s (request → PDF "
                        f"durable in outbox), scanimage {b:6.3f} s, ratio {a / b:5.2f}; "
                        f"PDF {statistics.median(sizes) / 1e6:6.2f} MB, "
                        f"{per_page / 1e3:7.1f} kB/page"
                    )
            finally:
                agent.stop()
    out = Path(__file__).parent / "results" / "scan.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
