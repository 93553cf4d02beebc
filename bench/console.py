"""bench/console: the clinician console's case page and live view, against bare JSON in one run.

Run: .venv/bin/python -m bench.console [--readings 5000] [--documents 50] [--viewers 10]
     [--seconds 15]

A real Mosquitto and a real ``puente hub`` process; one station publishes (over
MQTT, as an agent would) a case with ``--readings`` vital-sign readings (sets of
six) and ``--documents`` documents (half signed, half scanned).

1. Case page in headless Chromium: time to first contentful paint and until the
   charts are drawn (their series are fetched by the page after it is painted), against
   a bare ``fetch`` of the same data as JSON from the hub's API (vitals, documents,
   timeline page, biometrics) in the same browser.
2. Hub CPU per live viewer: the station streams 6 parameters at 1 Hz into a
   case; hub CPU (utime+stime of the process) is measured with no viewer, with
   ``--viewers`` Chromium pages on the live view, and with as many bare SSE
   clients of ``/v1/cases/{id}/vitals/live``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

CASE, LIVE_CASE, STATION, UNIT = "CASE-BENCH", "CASE-LIVE", "st-bench", "U-BENCH"
PASSWORD = "correct horse battery"
SIX = (
    (150456, "MDC_PULS_OXIM_SAT_O2", "%", 97.0),
    (149530, "MDC_PULS_OXIM_PULS_RATE", "/min", 74.0),
    (150021, "MDC_PRESS_BLD_NONINV_SYS", "mm[Hg]", 118.0),
    (150022, "MDC_PRESS_BLD_NONINV_DIA", "mm[Hg]", 76.0),
    (150364, "MDC_TEMP_BODY", "Cel", 36.8),
    (151562, "MDC_RESP_RATE", "/min", 16.0),
)


class Seq:
    """The station's outbox positions: contiguous, or the hub holds events back."""

    def __init__(self) -> None:
        self.n = 0
        self.lock = threading.Lock()

    def next(self) -> int:
        with self.lock:
            self.n += 1
            return self.n


def _event(seq: int, case_id: str, at: float) -> Any:
    from protos import CONTRACT_VERSION, events_pb2
    from protos.event_ids import new_event_id

    event = events_pb2.Event(
        event_id=new_event_id(),
        station_id=STATION,
        unit_id=UNIT,
        device_id="monitor-1",
        case_id=case_id,
        patient_id="1234567890101",
        station_seq=seq,
        schema_version=CONTRACT_VERSION,
    )
    event.occurred_at.FromNanoseconds(int(at * 1e9))
    return event


def vitals(seq: int, case_id: str, at: float, i: int, mode: str = "spot") -> Any:
    event = _event(seq, case_id, at)
    for code, refid, unit, base in SIX:
        r = event.vital_signs.readings.add(
            mdc_code=code, mdc_refid=refid, value=round(base + (i % 7) * 0.3, 1), unit=unit
        )
        r.measured_at.CopyFrom(event.occurred_at)
    event.vital_signs.mode = mode
    return event


def document(seq: int, at: float, i: int) -> Any:
    import hashlib

    from protos import events_pb2

    event = _event(seq, CASE, at)
    event.device_id = "scanner-1"
    body = events_pb2.BodyRef(
        sha256=hashlib.sha256(f"doc-{i}".encode()).digest(), size=1000 + i,
        media_type="application/pdf", filename=f"doc-{i}.pdf",
    )  # fmt: skip
    if i % 2:
        event.scanned_document.document_type = "LAB"
        event.scanned_document.document_id = f"DOC-{i}"
        event.scanned_document.body.CopyFrom(body)
        event.scanned_document.pages = 1
    else:
        d = event.signed_document
        d.document_type, d.document_id = "SPS-35", f"DOC-{i}"
        d.body.CopyFrom(body)
        d.signer.subject, d.signer.role = "CN=Dr. Bench", "doctor"
        d.signer.level = events_pb2.PADES_B_T
    return event


def hub_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fill(hub: Any, station: Any, seq: Seq, readings: int, documents: int) -> None:
    from tests.hub.events import batch_bytes

    sets = -(-readings // 6)
    start = time.time() - sets * 60  # a reading set a minute, ending now
    batch: list[Any] = []
    for i in range(sets):
        batch.append(vitals(seq.next(), CASE, start + i * 60, i))
        if len(batch) == 100:
            station.publish(batch_bytes(*batch))
            batch = []
    for i in range(documents):
        batch.append(document(seq.next(), start + i * 60 * (sets // max(documents, 1)), i))
    station.publish(batch_bytes(*batch))
    want = sets + documents
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if hub.query("SELECT count(*) FROM events WHERE case_id = ?", CASE)[0][0] >= want:
            return
        time.sleep(0.2)
    raise TimeoutError("the hub did not store the bench case")


def sign_in(page: Any, base: str) -> None:
    page.goto(f"{base}/console/login")
    page.get_by_label("User").fill("bench")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def poll(page: Any, js: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.evaluate(f"() => Boolean({js})"):
            return
        time.sleep(0.01)
    raise TimeoutError(js)


def bench_case_page(page: Any, base: str, token: str, runs: int) -> dict[str, float]:
    fcp, drawn, html = [], [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        page.goto(f"{base}/console/cases/{CASE}", wait_until="commit")
        poll(page, "document.getElementById('charts') && document.getElementById('charts')"
             ".dataset.rendered === '6'")  # fmt: skip
        drawn.append((time.perf_counter() - t0) * 1000)
        timing = page.evaluate(
            """() => { const n = performance.getEntriesByType('navigation')[0];
            const p = performance.getEntriesByName('first-contentful-paint')[0];
            return {html: n.responseEnd - n.startTime, fcp: p ? p.startTime : -1}; }"""
        )
        html.append(timing["html"])
        fcp.append(timing["fcp"])
    json_ms = []
    for _ in range(runs):
        json_ms.append(
            page.evaluate(
                """async ([c, tok]) => { const h = {headers: {Authorization: 'Bearer ' + tok}};
                const t0 = performance.now();
                await Promise.all([`/v1/cases/${c}/vitals`, `/v1/cases/${c}/documents?limit=50`,
                  `/v1/cases/${c}?limit=300`, `/v1/cases/${c}/biometrics`]
                  .map(u => fetch(u, h).then(r => r.json())));
                return performance.now() - t0; }""",
                [CASE, token],
            )
        )
    med = statistics.median
    return {
        "case_html_ms": round(med(html), 1),
        "case_first_contentful_paint_ms": round(med(fcp), 1),
        "case_charts_drawn_ms": round(med(drawn), 1),
        "bare_json_fetch_ms": round(med(json_ms), 1),
        "fcp_vs_json": round(med(fcp) / med(json_ms), 2),
        "charts_vs_json": round(med(drawn) / med(json_ms), 2),
    }


def stream(station: Any, seq: Seq, stop: threading.Event) -> None:
    from tests.hub.events import batch_bytes

    i = 0
    while not stop.is_set():
        station.publish(batch_bytes(vitals(seq.next(), LIVE_CASE, time.time(), i, "stream")))
        i += 1
        stop.wait(1.0)


def cpu_over(pid: int, seconds: float) -> float:
    c0, t0 = hub_cpu(pid), time.monotonic()
    time.sleep(seconds)
    return (hub_cpu(pid) - c0) / (time.monotonic() - t0) * 100  # % of one core


def bench_live(hub: Any, context: Any, base: str, viewers: int, seconds: float) -> dict[str, float]:
    import httpx

    pid = hub.proc.pid
    base_cpu = cpu_over(pid, seconds)
    # One browser context each (as separate people): Chromium allows 6 connections per host
    # and context, and each live view holds one open for its stream.
    state = context.storage_state()
    contexts = [context.browser.new_context(storage_state=state) for _ in range(viewers)]
    pages = []
    for c in contexts:
        p = c.new_page()
        p.goto(f"{base}/console/cases/{LIVE_CASE}/live")
        pages.append(p)
    for p in pages:
        poll(p, "window.puenteLive.stats().received >= 6", 30)
    browser_cpu = cpu_over(pid, seconds)
    received = [p.evaluate("window.puenteLive.stats()") for p in pages]
    for c in contexts:
        c.close()
    time.sleep(1)

    stop = threading.Event()
    counts = [0] * viewers

    def sse(k: int) -> None:
        headers = {"Authorization": f"Bearer {hub.token}"}
        url = f"{base}/v1/cases/{LIVE_CASE}/vitals/live"
        try:
            with httpx.stream("GET", url, headers=headers, timeout=None) as r:
                for line in r.iter_lines():
                    if line.startswith("data: "):
                        counts[k] += 1
                    if stop.is_set():
                        return
        except httpx.HTTPError:  # the hub stopping under an open stream at the end of the run
            return

    threads = [threading.Thread(target=sse, args=(k,), daemon=True) for k in range(viewers)]
    for t in threads:
        t.start()
    time.sleep(3)
    bare_cpu = cpu_over(pid, seconds)
    stop.set()
    per = max(browser_cpu - base_cpu, 0) / viewers
    per_bare = max(bare_cpu - base_cpu, 0) / viewers
    return {
        "viewers": viewers,
        "hub_cpu_no_viewer_pct": round(base_cpu, 2),
        "hub_cpu_browser_viewers_pct": round(browser_cpu, 2),
        "hub_cpu_bare_sse_clients_pct": round(bare_cpu, 2),
        "hub_cpu_per_browser_viewer_pct": round(per, 3),
        "hub_cpu_per_bare_sse_client_pct": round(per_bare, 3),
        "browser_vs_bare": round(per / per_bare, 2) if per_bare > 0 else float("nan"),
        "min_readings_per_viewer": min(r["received"] for r in received),
        "max_dom_nodes_per_viewer": max(r["nodes"] for r in received),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--readings", type=int, default=5000)
    parser.add_argument("--documents", type=int, default=50)
    parser.add_argument("--viewers", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    import httpx
    from playwright.sync_api import sync_playwright

    from tests.brokers import Mosquitto
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.e2e.processes import Hub
    from tests.hub.station import FakeStation

    tmp = Path(tempfile.mkdtemp(prefix="bench-console-"))
    broker = Mosquitto(tmp / "mosquitto").start()
    hub = Hub(tmp / "hub", broker.url, secrets.token_urlsafe(24)).start()
    station = None
    stop = threading.Event()
    try:
        api = httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {hub.token}"})
        hub.register_station(STATION, UNIT)
        for case in (CASE, LIVE_CASE):
            api.post("/v1/cases", json={"case_id": case, "patient_id": "1234567890101",
                                        "unit_id": UNIT}).raise_for_status()  # fmt: skip
        subprocess.run(
            [sys.executable, "-m", "puente_cli.main", "hub", "user", "add", "--name", "bench",
             "--role", "clinician", "--config", str(hub.config)],
            env=dict(os.environ, PUENTE_HUB_USER_PASSWORD=PASSWORD), check=True,
            capture_output=True, timeout=60,
        )  # fmt: skip
        station = FakeStation(broker.port, STATION, UNIT)
        seq = Seq()
        t0 = time.monotonic()
        fill(hub, station, seq, args.readings, args.documents)
        print(f"filled {args.readings} readings + {args.documents} documents "
              f"in {time.monotonic() - t0:.1f}s")  # fmt: skip
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            context = browser.new_context()
            page = context.new_page()
            sign_in(page, hub.url)
            results: dict[str, Any] = {"readings": args.readings, "documents": args.documents}
            results |= bench_case_page(page, hub.url, hub.token, args.runs)
            threading.Thread(target=stream, args=(station, seq, stop), daemon=True).start()
            time.sleep(2)
            results |= bench_live(hub, context, hub.url, args.viewers, args.seconds)
            browser.close()
        print(json.dumps(results, indent=2))
        out = Path(__file__).parent / "results" / "console.json"
        out.parent.mkdir(exist_ok=True)  # bench/results is git-ignored: absent in a fresh clone
        out.write_text(json.dumps(results, indent=2) + "\n")
    finally:
        stop.set()
        if station is not None:
            station.close()
        hub.stop()
        broker.stop()


if __name__ == "__main__":
    main()
