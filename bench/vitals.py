"""bench/vitals: ORU parse+normalise rate vs bare hl7.parse; monitor → hub-subscriber latency.

Run: .venv/bin/python -m bench.vitals [--stations 20] [--seconds 20] [--messages 3000]

1. PCD-01 ORU^R01 messages (6 numerics each) parsed by the driver and
   normalised by the agent's mapping, per second, against python-hl7's bare
   ``hl7.parse`` of the same messages in the same run (target ≥ 0.5×).
2. ``--stations`` agents in this process, each streaming a simulated monitor
   (6 parameters at 1 Hz) in a telemedicine session, through a real Mosquitto
   and a real ``puente hub`` process; one SSE subscriber per case at the hub.
   Latency = arrival at the subscriber − the reading's measured_at (stamped
   when the driver produced it). Target p99 < 500 ms on loopback.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any


def bench_oru(messages: int) -> dict[str, float]:
    import hl7

    from drivers.vitals.hl7_pcd01 import parse_oru
    from drivers.vitals.simulators.hl7_pcd01 import make_oru
    from edge_agent.capabilities.vitals.mapping import map_readings

    rows = [
        (150456, "MDC_PULS_OXIM_SAT_O2", 97, "MDC_DIM_PERCENT"),
        (149530, "MDC_PULS_OXIM_PULS_RATE", 72, "MDC_DIM_BEAT_PER_MIN"),
        (150021, "MDC_PRESS_BLD_NONINV_SYS", 120, "MDC_DIM_MMHG"),
        (150022, "MDC_PRESS_BLD_NONINV_DIA", 80, "MDC_DIM_MMHG"),
        (150364, "MDC_TEMP_BODY", 36.9, "MDC_DIM_DEGC"),
        (151562, "MDC_RESP_RATE", 16, "MDC_DIM_RESP_PER_MIN"),
    ]
    texts = [make_oru(rows, f"M{i}") for i in range(messages)]

    def run(fn: Any) -> float:
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            for t in texts:
                fn(t)
            best = min(best, time.perf_counter() - t0)
        return messages / best

    bare = run(hl7.parse)

    def full(t: str) -> None:
        accepted, rejected = map_readings(parse_oru(t).readings)
        assert len(accepted) == 6 and not rejected

    ours = run(full)
    # The public PCD-01 samples of the tests (IHE TF-2 BP example, Mindray VS-900), CR-terminated.
    fixtures = Path(__file__).resolve().parent.parent / "tests" / "vitals" / "fixtures"
    samples = [
        (fixtures / name).read_text().rstrip("\r") + "\r"
        for name in ("pcd01_bp_ihe_tf2.hl7", "pcd01_spo2_nibp_mindray_vs900.hl7")
    ]
    texts[:] = [samples[i % 2] for i in range(messages)]
    sample_bare = run(hl7.parse)
    sample_ours = run(lambda t: map_readings(parse_oru(t).readings))
    return {
        "bare_parse_per_s": bare,
        "parse_normalise_per_s": ours,
        "ratio": ours / bare,
        "samples_bare_parse_per_s": sample_bare,
        "samples_parse_normalise_per_s": sample_ours,
        "samples_ratio": sample_ours / sample_bare,
    }


def bench_latency(stations: int, seconds: float) -> dict[str, float]:
    import httpx

    from edge_agent.service import AgentService
    from edge_agent.settings import AgentSettings
    from tests.brokers import Mosquitto, free_port
    from tests.e2e.processes import Hub

    tmp = Path(tempfile.mkdtemp(prefix="bench-vitals-"))
    broker = Mosquitto(tmp / "mosquitto").start()
    hub = Hub(tmp / "hub", broker.url, secrets.token_urlsafe(24)).start()
    agents: list[AgentService] = []
    latencies: list[float] = []
    lock = threading.Lock()
    stop = threading.Event()
    try:
        with hub.api() as api:
            for i in range(stations):
                sid = f"tele-{i:02d}"
                hub.register_station(sid, "unit-bench")
                api.post(
                    "/v1/cases",
                    json={"case_id": f"CASE-{i:02d}", "patient_id": f"P{i:04d}", "unit_id": "u"},
                )
        for i in range(stations):
            settings = AgentSettings(
                station_id=f"tele-{i:02d}",
                unit_id="unit-bench",
                data_dir=tmp / f"agent-{i:02d}",
                broker_url=broker.url,
                http_port=free_port(),
                grpc_port=free_port(),
                devices=[
                    {
                        "device_id": "monitor-1",
                        "driver": "sim.monitor",
                        "options": {"serial": f"SIM-{i:02d}", "seed": i},
                    }
                ],
            )
            agent = AgentService(settings)
            agent.start()
            agents.append(agent)
        for a in agents:
            a.wait_connected(30)

        def subscribe(case_id: str, ready: threading.Event) -> None:
            headers = {"Authorization": f"Bearer {hub.token}"}
            url = f"{hub.url}/v1/cases/{case_id}/vitals/live"
            try:
                with httpx.stream("GET", url, headers=headers, timeout=None) as r:
                    _read(r, ready)
            except httpx.HTTPError:
                return  # the hub stopped at the end of the run

        def _read(r: Any, ready: threading.Event) -> None:
            for line in r.iter_lines():
                if line == ": connected":
                    ready.set()
                if stop.is_set():
                    return
                if line.startswith("data: "):
                    now = time.time()
                    d = json.loads(line[6:])
                    if "measured_at" in d and d.get("status") == "accepted":
                        at = datetime.fromisoformat(d["measured_at"].replace("Z", "+00:00"))
                        with lock:
                            latencies.append(now - at.timestamp())

        for i in range(stations):
            ready = threading.Event()
            threading.Thread(target=subscribe, args=(f"CASE-{i:02d}", ready), daemon=True).start()
            ready.wait(10)
        sessions = [
            a.streams.start("monitor-1", f"CASE-{i:02d}", f"P{i:04d}") for i, a in enumerate(agents)
        ]
        time.sleep(seconds)
        for a, s in zip(agents, sessions, strict=True):
            a.streams.stop(s.session_id)
        time.sleep(1.0)
        stop.set()
    finally:
        for a in agents:
            a.stop()
        hub.stop()
        broker.stop()
    ordered = sorted(latencies)
    if not ordered:
        raise SystemExit("no reading reached a subscriber")

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    return {
        "readings": len(ordered),
        "expected": stations * 6 * seconds,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": ordered[-1] * 1000,
        "mean_ms": statistics.fmean(ordered) * 1000,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=3000)
    ap.add_argument("--stations", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    oru = bench_oru(args.messages)
    print(
        f"ORU parse+normalise: {oru['parse_normalise_per_s']:.0f}/s vs bare hl7.parse "
        f"{oru['bare_parse_per_s']:.0f}/s → ratio {oru['ratio']:.2f} (target ≥ 0.5)"
    )
    print(
        f"  public PCD-01 samples: {oru['samples_parse_normalise_per_s']:.0f}/s vs "
        f"{oru['samples_bare_parse_per_s']:.0f}/s → ratio {oru['samples_ratio']:.2f}"
    )
    lat = bench_latency(args.stations, args.seconds)
    print(
        f"monitor→hub subscriber, {args.stations} stations × 6 params @1 Hz: "
        f"{lat['readings']:.0f} readings (expected ≈{lat['expected']:.0f}), "
        f"p50 {lat['p50_ms']:.0f} ms, p99 {lat['p99_ms']:.0f} ms, max {lat['max_ms']:.0f} ms "
        "(target p99 < 500 ms)"
    )
    out = Path(__file__).parent / "results" / "vitals.json"
    out.write_text(json.dumps({"oru": oru, "latency": lat}, indent=2) + "\n")


if __name__ == "__main__":
    main()
