"""bench/central: the central station view with 20 sessions streaming at 1 Hz.

Run: .venv/bin/python -m bench.central [--sessions 20] [--viewers 3] [--seconds 20]

A real hub app (SQLite file, uvicorn, in this process) fed through the store's real ingest
commit by a thread: each session's heart rate changes every second. Measured in one run:

1. Display latency: from the commit of a reading to the moment a Chromium viewer's tile
   shows that value (a MutationObserver stamps each change; same machine, same clock);
   median and p99 over every session and second.
2. Hub CPU per viewer: this process's CPU time (server + feeder) with no viewer and with
   ``--viewers`` pages open; the difference divided by the viewers is the cost of one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

OBSERVE = """() => {
  window.__seen = [];
  const root = document.getElementById('central');
  new MutationObserver(() => {
    const now = Date.now();
    root.querySelectorAll(".cp[data-parameter=heart_rate]").forEach((el) => {
      const tile = el.closest('.ctile');
      window.__seen.push([tile.dataset.case, el.querySelector('.v').textContent, now]);
    });
  }).observe(root, {childList: true, subtree: true});
}"""


def main() -> None:
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.browser.console_site import UNIT, serve, sign_in

    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--viewers", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        gen = serve(Path(tmp))
        site = next(gen)
        cases = []
        for i in range(args.sessions):
            case, patient = f"CASE-{i:02d}", f"{i:013d}"
            site.open_case(case, patient)
            cases.append((case, patient, str(uuid.uuid4())))
        committed: dict[tuple[str, str], float] = {}
        stop = threading.Event()

        def feed() -> None:
            site.ingest(
                *[site.vitals(c, p, datetime.now(UTC), {}, "session_start", s) for c, p, s in cases]
            )
            k = 0
            while not stop.is_set():
                now = datetime.now(UTC)
                value = 60 + k % 120
                site.ingest(
                    *[
                        site.vitals(c, p, now, {"heart_rate": value}, "stream", s)
                        for c, p, s in cases
                    ]
                )
                t = time.time() * 1000
                for c, _, _ in cases:
                    committed[(c, str(value))] = t
                k += 1
                stop.wait(1.0)

        threading.Thread(target=feed, daemon=True).start()
        time.sleep(3)
        c0 = time.process_time()
        time.sleep(args.seconds)
        idle_cpu = (time.process_time() - c0) / args.seconds * 100
        results: dict[str, Any] = {"sessions": args.sessions, "viewers": args.viewers}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            pages = []
            for _ in range(args.viewers):
                context = browser.new_context()
                page = context.new_page()
                sign_in(page, site.url, "ana")
                page.goto(f"{site.url}/console/central?unit={UNIT}")
                page.evaluate(OBSERVE)
                pages.append(page)
            time.sleep(2)
            c0 = time.process_time()
            time.sleep(args.seconds)
            viewer_cpu = (time.process_time() - c0) / args.seconds * 100
            latencies = []
            for page in pages:
                first: dict[tuple[str, str], float] = {}
                for case, text, at in page.evaluate("window.__seen"):
                    first.setdefault((case, text.split()[0]), at)
                latencies += [at - committed[key] for key, at in first.items() if key in committed]
            browser.close()
        stop.set()
        latencies.sort()
        results |= {
            "cpu_no_viewer_pct": round(idle_cpu, 2),
            "cpu_with_viewers_pct": round(viewer_cpu, 2),
            "cpu_per_viewer_pct": round((viewer_cpu - idle_cpu) / max(args.viewers, 1), 2),
            "display_samples": len(latencies),
            "display_latency_median_ms": round(statistics.median(latencies), 1),
            "display_latency_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 1),
        }
        print(json.dumps(results, indent=2))
        with contextlib.suppress(StopIteration):
            next(gen)


if __name__ == "__main__":
    main()
