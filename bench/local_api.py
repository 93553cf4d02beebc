"""bench/local_api: round trips to the agent's local API from a real browser page vs httpx.

Run: ``.venv/bin/python -m bench.local_api`` (``--calls N``). In one run, against one
agent with simulated devices: a status call, a fingerprint verify with the simulated
reader and a vitals set from the simulated monitor, from a page in headless Chromium on
an allowed origin through the JS client, and the same calls with httpx from Python.
Prints p50/p99 and the browser/httpx ratio.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1)))]


def _serve(folder: Path, port: int) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.func.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


ACTION_JS = {
    "fingerprint.verify": "await agent.verifyFinger({deviceId: 'reader-1', caseId: 'B-1', "
    "patientId: '1234567890101', step: 'admission'});",
    "vitals.take": "await agent.takeVitals({deviceId: 'monitor-1', caseId: 'B-1', "
    "patientId: '1234567890101', timeoutS: 2});",
}
ACTION_HTTPX = {
    "fingerprint.verify": (
        "/v1/fingerprint/verify",
        {"device_id": "reader-1", "case_id": "B-1", "patient_id": "1234567890101", "step": "x"},
    ),
    "vitals.take": (
        "/v1/vitals/take",
        {"device_id": "monitor-1", "case_id": "B-1", "patient_id": "1234567890101", "timeout_s": 2},
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--action-calls", type=int, default=20)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from edge_agent.service import AgentService
    from edge_agent.settings import AgentSettings
    from tests.brokers import free_port

    with tempfile.TemporaryDirectory(prefix="puente-bench-") as tmp:
        folder = Path(tmp) / "site"
        folder.mkdir()
        shutil.copy(ROOT / "clients/js/puente.js", folder / "puente.js")
        (folder / "index.html").write_text("<!doctype html><title>bench</title>")
        site_port = free_port()
        origin = f"http://127.0.0.1:{site_port}"
        server = _serve(folder, site_port)
        agent = AgentService(
            AgentSettings(
                station_id="bench",
                unit_id="unit-1",
                data_dir=Path(tmp) / "agent",
                broker_url=f"mqtt://127.0.0.1:{free_port()}",
                http_port=0,
                grpc_port=0,
                allowed_origins=[origin],
                rate_limit_per_s=10_000,
                rate_limit_burst=10_000,
                devices=[
                    {
                        "device_id": "monitor-1",
                        "driver": "sim.monitor",
                        "options": {"interval_s": 0.001},
                    },
                    {"device_id": "reader-1", "driver": "sim.fingerprint", "options": {"seed": 5}},
                ],
            )
        )
        agent.start()
        agent.wait_ready(10)
        # The patient is enrolled once; each verify then compares against the station's cache.
        httpx.post(
            f"{agent.http_url}/v1/fingerprint/enroll",
            json={
                "device_id": "reader-1",
                "case_id": "B-1",
                "patient_id": "1234567890101",
                "finger": "RIGHT_INDEX",
            },
            headers={"Origin": origin},
            timeout=60,
        ).raise_for_status()
        results: dict[str, dict[str, list[float]]] = {}
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
                )
                page = browser.new_page()
                page.goto(f"{origin}/index.html")
                timing = """async ([url, n, body]) => {
                    const m = await import('/puente.js');
                    const agent = new m.PuenteAgent({url});
                    const run = new Function('agent', `return (async () => { ${body} })()`);
                    await run(agent);  // warm up
                    const out = [];
                    for (let i = 0; i < n; i++) {
                        const t = performance.now();
                        await run(agent);
                        out.push(performance.now() - t);
                    }
                    return out;
                }"""
                results["bare fetch"] = {
                    "browser": page.evaluate(
                        timing,
                        [agent.http_url, args.calls, f"await fetch('{agent.http_url}/v1/status');"],
                    )
                }
                results["status"] = {
                    "browser": page.evaluate(
                        timing, [agent.http_url, args.calls, "await agent.status();"]
                    )
                }
                for name, js in ACTION_JS.items():
                    results[name] = {
                        "browser": page.evaluate(timing, [agent.http_url, args.action_calls, js])
                    }
                browser.close()
            with httpx.Client(base_url=agent.http_url, headers={"Origin": origin}) as http:
                http.get("/v1/status")
                samples = []
                for _ in range(args.calls):
                    t = time.perf_counter()
                    http.get("/v1/status").raise_for_status()
                    samples.append(1000 * (time.perf_counter() - t))
                results["status"]["httpx"] = samples
                results["bare fetch"]["httpx"] = samples
                for name, (path, body) in ACTION_HTTPX.items():
                    samples = []
                    for _ in range(args.action_calls):
                        t = time.perf_counter()
                        http.post(path, json=body, timeout=30).raise_for_status()
                        samples.append(1000 * (time.perf_counter() - t))
                    results[name]["httpx"] = samples
        finally:
            agent.stop()
            server.shutdown()

    for name, by in results.items():
        b, h = by["browser"], by["httpx"]
        print(
            f"{name:14s} browser p50 {statistics.median(b):7.2f} ms p99 {_pct(b, 0.99):7.2f} ms | "
            f"httpx p50 {statistics.median(h):7.2f} ms p99 {_pct(h, 0.99):7.2f} ms | "
            f"ratio p50 {statistics.median(b) / statistics.median(h):.2f}"
        )


if __name__ == "__main__":
    main()
