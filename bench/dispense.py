"""bench/dispense: scans parsed and recorded per second vs biip alone; scan -> item shown latency.

Run: ``.venv/bin/python -m bench.dispense`` (``--scans N``, ``--latency N``).
Measures, in one run:
- baselines: ``biip.parse`` alone on N distinct GS1 DataMatrix strings, and
  ``GS1Message.parse`` alone (the narrower call the agent's mapping makes);
- the agent: ``DispensingService.scan`` on the same strings in one session —
  GS1 mapping (biip), catalogue lookup and used-serial check in the station's
  SQLite, expiry and prescription checks, item recorded in the session and
  published to watchers; the ratios agent / each baseline (target ≥ 0.5);
- latency: the simulator writes a pack's real scanner bytes on a pty, the real
  serial driver reads them in the agent, and a client of the local HTTP API's
  Server-Sent Events stream (what the station page listens to) receives the
  item: p50/p99 over N scans, one at a time (target p99 ≤ 100 ms).
Writes bench/results/dispense.json.
"""

from __future__ import annotations

import argparse
import json
import queue
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import biip
import httpx
from biip.gs1_messages import GS1Message

from drivers.barcode.sim import medicine_pack
from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from tests.brokers import free_port
from tests.pharmacy.entry_points import ensure_barcode_entry_points

ORIGIN = "https://bench.example"
GTIN = "07501031311309"
CATALOGUE = {
    "version": "bench",
    "items": [{"gtin": GTIN, "institute_code": "010101", "name": "Amoxicilina 500 mg"}],
}


def packs(n: int, prefix: str) -> list[str]:
    expiry = (datetime.now(UTC).date() + timedelta(days=700)).strftime("%y%m%d")
    return ["]d2" + medicine_pack(GTIN, expiry, "L-BENCH", f"{prefix}{i:07d}") for i in range(n)]


def biip_rate(raws: list[str]) -> float:
    """``biip.parse``: every interpretation biip knows (GTIN, UPC, SSCC, GS1 message, URI)."""
    start = time.perf_counter()
    for raw in raws:
        biip.parse(raw)
    return len(raws) / (time.perf_counter() - start)


def gs1_message_rate(raws: list[str]) -> float:
    """``GS1Message.parse`` alone: the one biip call the agent's mapping makes per DataMatrix."""
    start = time.perf_counter()
    for raw in raws:
        GS1Message.parse(raw[3:])
    return len(raws) / (time.perf_counter() - start)


def agent_rate(agent: AgentService, raws: list[str]) -> float:
    """Scans through the service in one session (opening and cancelling it included)."""
    assert agent.pharmacy is not None
    service = agent.pharmacy
    start = time.perf_counter()
    s = service.open("c-bench", "p-bench", "rx", [("010101", 100_000, 30)], "farm-b", "")
    for raw in raws:
        service.scan(s.session_id, raw)
    service.cancel(s.session_id)
    return len(raws) / (time.perf_counter() - start)


def latencies(agent: AgentService, n: int) -> list[float]:
    """Scan → item on the SSE stream, one scan at a time; a new session every MAX_ITEMS."""
    from edge_agent.capabilities.pharmacy.service import MAX_ITEMS

    local = httpx.Client(base_url=agent.http_url, headers={"Origin": ORIGIN}, timeout=30)
    body = {
        "case_id": "c-lat",
        "patient_id": "p-lat",
        "lines": [{"product_code": "010101", "quantity": 100_000, "duration_days": 30}],
        "pharmacist_id": "farm-bench",
        "scanner_device_id": "scanner-1",
    }
    sim = agent.devices.get("scanner-1").device.sim  # type: ignore[union-attr]
    raws = packs(n, "LAT")
    out = []
    for i in range(0, n, MAX_ITEMS):
        sid = local.post("/v1/pharmacy/sessions", json=body).json()["session_id"]
        shown: queue.Queue[float] = queue.Queue()
        ready = threading.Event()

        def watch(sid: str = sid, shown: queue.Queue[float] = shown, ready=ready) -> None:  # type: ignore[no-untyped-def]
            with local.stream("GET", f"/v1/pharmacy/sessions/{sid}/events") as response:
                for line in response.iter_lines():
                    if line.startswith(": connected"):
                        ready.set()
                    elif line.startswith("event: item"):
                        shown.put(time.perf_counter())
                    elif line.startswith("event: end"):
                        return

        t = threading.Thread(target=watch, daemon=True)
        t.start()
        ready.wait(10)
        for raw in raws[i : i + MAX_ITEMS]:
            start = time.perf_counter()
            sim.scan(raw[3:])
            out.append(shown.get(timeout=10) - start)
            time.sleep(0.01)
        local.post(f"/v1/pharmacy/sessions/{sid}/cancel", json={})
        t.join(5)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scans", type=int, default=2000)
    parser.add_argument("--latency", type=int, default=200)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-dispense-"))
    ensure_barcode_entry_points(tmp / "site")
    agent = AgentService(
        AgentSettings(
            station_id="st-bench",
            unit_id="u1",
            data_dir=tmp / "agent",
            broker_url=f"mqtt://127.0.0.1:{free_port()}",
            http_port=0,
            grpc_port=0,
            allowed_origins=[ORIGIN],
            devices=[
                {
                    "device_id": "scanner-1",
                    "driver": "sim.barcode",
                    "options": {"link": str(tmp / "ttyACM0")},
                }
            ],
        )
    )
    agent.start()
    assert agent.wait_ready(10) and agent.pharmacy is not None
    agent.pharmacy.catalogue.replace(CATALOGUE)
    try:
        # Interleaved rounds (a block of each, in turn) so that the load of a shared machine
        # falls on every measure alike; the figures are the medians over rounds.
        from edge_agent.capabilities.pharmacy.service import MAX_ITEMS

        raws = packs(args.scans, "T")
        biip_rate(raws[:200])  # warm-up
        bases, narrows, ours = [], [], []
        for i in range(0, len(raws), MAX_ITEMS):
            block = raws[i : i + MAX_ITEMS]
            bases.append(biip_rate(block))
            narrows.append(gs1_message_rate(block))
            ours.append(agent_rate(agent, block))
        ratio = statistics.median(o / b for o, b in zip(ours, bases, strict=True))
        ratio_narrow = statistics.median(o / n for o, n in zip(ours, narrows, strict=True))
        lat = sorted(latencies(agent, args.latency))
    finally:
        agent.stop()
    p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
    result = {
        "scans": args.scans,
        "rounds": len(ours),
        "biip_parse_per_s": round(statistics.median(bases), 1),
        "agent_scans_per_s": round(statistics.median(ours), 1),
        "ratio_agent_vs_biip": round(ratio, 3),
        "gs1_message_parse_per_s": round(statistics.median(narrows), 1),
        "ratio_agent_vs_gs1_message_parse": round(ratio_narrow, 3),
        "latency_scans": len(lat),
        "latency_p50_ms": round(statistics.median(lat) * 1000, 2),
        "latency_p99_ms": round(p99 * 1000, 2),
        "latency_max_ms": round(lat[-1] * 1000, 2),
    }
    print(json.dumps(result, indent=2))
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "dispense.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
