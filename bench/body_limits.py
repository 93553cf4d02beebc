"""bench/body_limits: the agent's status call while others send oversized or large bodies.

Run: ``.venv/bin/python -m bench.body_limits`` (``--calls N``, ``--pdf-mib M``). In one
run, against one agent process: GET /v1/status latency (p50/p99) with nothing else going
on (the baseline), while a client streams chunked bodies past the JSON routes' limit over
and over (each refused with 413 at the limit), and while a client submits large PDFs as
base64 JSON (read, then decoded in a worker thread; a role the document type does not
have makes the agent refuse each right after decoding, so PDF parsing is not measured).
Prints each as a ratio to the baseline, and how many big requests were answered meanwhile.
"""

from __future__ import annotations

import argparse
import base64
import json
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ORIGIN = "https://medi.example.test"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1)))]


def _status_latencies(url: str, calls: int) -> list[float]:
    out = []
    with httpx.Client(base_url=url, headers={"Origin": ORIGIN}, timeout=30) as http:
        http.get("/v1/status")
        for _ in range(calls):
            t0 = time.perf_counter()
            assert http.get("/v1/status").status_code == 200
            out.append((time.perf_counter() - t0) * 1000)
    return out


def _oversized_stream(port: int) -> int:
    """One chunked POST to /v1/events sent until the agent answers; returns its status."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        sock.sendall(
            (
                f"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: {ORIGIN}\r\n"
                "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            ).encode()
        )
        chunk = b" " * 65536
        try:
            for _ in range(64):  # 4 MiB at most; the limit is 1 MiB
                sock.sendall(b"10000\r\n" + chunk + b"\r\n")
        except OSError:
            pass
        reply = sock.recv(64)
        return int(reply.split()[1]) if reply else 0
    finally:
        sock.close()


def _while(load: Callable[[], int], measure: Callable[[], list[float]]) -> tuple[list[float], int]:
    stop = threading.Event()
    answered: list[int] = []

    def loop() -> None:
        while not stop.is_set():
            answered.append(load())

    worker = threading.Thread(target=loop, daemon=True)
    worker.start()
    time.sleep(0.2)
    try:
        return measure(), len(answered)
    finally:
        stop.set()
        worker.join(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--pdf-mib", type=int, default=20)
    args = parser.parse_args()

    from tests.brokers import free_port
    from tests.e2e.processes import Agent

    with tempfile.TemporaryDirectory() as tmp:
        agent = Agent(
            Path(tmp) / "agent",
            "st-bench-limits",
            "U-BENCH",
            f"mqtt://127.0.0.1:{free_port()}",
            rate_limit_per_s=100_000,
            rate_limit_burst=100_000,
            log_level="WARNING",
        ).start()
        try:
            measure = lambda: _status_latencies(agent.url, args.calls)  # noqa: E731
            idle = measure()
            streamed, refused = _while(lambda: _oversized_stream(agent.http_port), measure)
            pdf = b"%PDF-1.7\n" + b"0" * (args.pdf_mib * 1024 * 1024)
            body = json.dumps(
                {
                    "document_type": "SPS-35",
                    "case_id": "B-1",
                    "patient_id": "1234567890101",
                    # a role SPS-35 does not have: refused right after the body is decoded,
                    # so the phase measures reading and decoding, not PDF parsing
                    "role": "clerk",
                    "pdf_base64": base64.b64encode(pdf).decode(),
                }
            ).encode()
            big_client = httpx.Client(
                base_url=agent.url,
                headers={"Origin": ORIGIN, "Content-Type": "application/json"},
                timeout=120,
            )
            with big_client:
                big, submitted = _while(
                    lambda: big_client.post("/v1/signing/jobs", content=body).status_code,
                    measure,
                )
        finally:
            agent.stop()

    base50, base99 = _pct(idle, 0.5), _pct(idle, 0.99)
    print(f"GET /v1/status, {args.calls} calls per phase (ms, ratio to idle):")
    print(f"  idle (baseline)              p50 {base50:6.2f}  p99 {base99:6.2f}")
    for name, values, count, what in (
        ("oversized chunked bodies", streamed, refused, "refused with 413"),
        (f"{args.pdf_mib} MiB PDFs as base64 JSON", big, submitted, "submissions answered"),
    ):
        p50, p99 = _pct(values, 0.5), _pct(values, 0.99)
        print(
            f"  during {name:<28} p50 {p50:6.2f} ({p50 / base50:4.2f}x)  "
            f"p99 {p99:6.2f} ({p99 / base99:4.2f}x)  [{count} {what}]"
        )


if __name__ == "__main__":
    main()
