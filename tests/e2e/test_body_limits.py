"""Oversized request bodies get 413 before they are read, on real agent and hub processes.

A raw socket plays the client, so the test controls every byte: a declared
``Content-Length`` with no body behind it, or a chunked body sent slowly, while
another caller reads the status. Today's servers wait for (or read) the whole
body; these tests then time out on the socket instead of reading a 413.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.processes import ORIGIN, Agent, Hub

pytestmark = pytest.mark.e2e

MiB = 1024 * 1024
CHUNK = 64 * 1024


class RawRequest:
    """One HTTP/1.1 request written by hand on a socket: headers now, the body piece by piece."""

    def __init__(self, port: int, method: str, path: str, headers: dict[str, str]) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        self.sent = 0

    def send_chunk(self, data: bytes) -> bool:
        """One chunk of a chunked body; False once the server has closed its side."""
        try:
            self.sock.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        except OSError:
            return False
        self.sent += len(data)
        return True

    def response(self) -> tuple[int, dict[str, str], dict[str, Any]]:
        reply = http.client.HTTPResponse(self.sock)
        reply.begin()
        body = reply.read()
        headers = {k.lower(): v for k, v in reply.getheaders()}
        return reply.status, headers, json.loads(body) if body else {}

    def close(self) -> None:
        self.sock.close()


def _assert_413(status: int, headers: dict[str, str], problem: dict[str, Any], limit: int) -> None:
    assert status == 413, problem
    assert headers["content-type"] == "application/problem+json"
    assert headers.get("connection") == "close"
    assert problem["status"] == 413 and problem["code"] == "body_too_large"
    assert problem["limit_bytes"] == limit
    assert " / " in problem["detail"] and "como máximo" in problem["detail"]


def _stream_over_limit(
    port: int, path: str, headers: dict[str, str], limit: int, status_call: Callable[[], int]
) -> tuple[int, dict[str, str], dict[str, Any], int]:
    """Send half the limit, read the status on another connection, then go past the limit."""
    request = RawRequest(port, "POST", path, {**headers, "Transfer-Encoding": "chunked"})
    try:
        while request.sent < limit // 2:
            assert request.send_chunk(b" " * CHUNK)
        # The big request is open and half read: another caller is answered meanwhile.
        status_during = status_call()
        while request.sent <= limit and request.send_chunk(b" " * CHUNK):
            pass
        status, response_headers, problem = request.response()
        return status, response_headers, problem, status_during
    finally:
        request.close()


def test_agent_refuses_a_declared_oversized_body_at_once(
    make_agent: Callable[..., Agent],
) -> None:
    agent = make_agent("station-b1")  # the default limit: 1 MiB
    request = RawRequest(
        agent.http_port,
        "POST",
        "/v1/events",
        {"Origin": ORIGIN, "Content-Type": "application/json", "Content-Length": str(10**9)},
    )
    try:
        # Not one byte of the gigabyte was sent: the answer comes from the header alone.
        status, headers, problem = request.response()
    finally:
        request.close()
    _assert_413(status, headers, problem, MiB)
    assert headers["access-control-allow-origin"] == ORIGIN  # the page may read why
    assert "1000000000 bytes" in problem["detail"]
    agent.assert_alive()


def test_agent_stops_a_slow_chunked_body_at_the_limit_while_status_answers(
    make_agent: Callable[..., Agent],
) -> None:
    agent = make_agent("station-b2")
    status, headers, problem, status_during = _stream_over_limit(
        agent.http_port,
        "/v1/events",
        {"Origin": ORIGIN, "Content-Type": "application/json"},
        MiB,
        lambda: httpx.get(f"{agent.url}/v1/status", timeout=10).status_code,
    )
    assert status_during == 200
    _assert_413(status, headers, problem, MiB)
    # The agent goes on answering, and nothing was recorded from the refused body.
    assert agent.status()["outbox"]["depth"] >= 0
    agent.assert_alive()


def test_agent_allows_a_pdf_larger_than_a_json_body_but_not_past_its_own_limit(
    make_agent: Callable[..., Agent],
) -> None:
    max_pdf = 2 * MiB
    agent = make_agent("station-b3", signing={"max_pdf_bytes": max_pdf})
    pdf_limit = max_pdf * 4 // 3 + 65536
    blob = b"%PDF-1.7\n" + b"0" * (int(1.5 * MiB))
    headers = {"Origin": ORIGIN}

    as_json = httpx.post(
        f"{agent.url}/v1/events",
        content=blob,
        headers={**headers, "Content-Type": "application/json"},
        timeout=30,
    )
    assert as_json.status_code == 413 and as_json.json()["limit_bytes"] == MiB

    as_pdf = httpx.post(
        f"{agent.url}/v1/signing/jobs",
        params={"document_type": "consent", "case_id": "C1"},
        content=blob,
        headers={**headers, "Content-Type": "application/pdf"},
        timeout=30,
    )
    # Read and judged on its merits (no token at this station), not refused for its size.
    assert as_pdf.status_code != 413, as_pdf.text

    request = RawRequest(
        agent.http_port,
        "POST",
        "/v1/signing/jobs?document_type=consent&case_id=C1",
        {"Origin": ORIGIN, "Content-Type": "application/pdf", "Content-Length": str(3 * MiB)},
    )
    try:
        status, response_headers, problem = request.response()
    finally:
        request.close()
    _assert_413(status, response_headers, problem, pdf_limit)


def test_hub_refuses_oversized_bodies_per_route_while_healthz_answers(hub: Hub) -> None:
    auth = {"Authorization": f"Bearer {hub.token}", "Content-Type": "application/json"}
    declared = RawRequest(hub.port, "POST", "/v1/cases", {**auth, "Content-Length": str(10**9)})
    try:
        status, headers, problem = declared.response()
    finally:
        declared.close()
    _assert_413(status, headers, problem, MiB)

    status, headers, problem, status_during = _stream_over_limit(
        hub.port,
        "/v1/cases",
        auth,
        MiB,
        lambda: httpx.get(f"{hub.url}/healthz", timeout=10).status_code,
    )
    assert status_during == 200
    _assert_413(status, headers, problem, MiB)

    # A document-body chunk may be larger than a JSON body: 2 MiB is judged, not refused.
    chunk = b"x" * (2 * MiB)
    upload = httpx.patch(
        f"{hub.url}/v1/bodies/{'0' * 64}",
        content=chunk,
        headers={
            "Authorization": f"Bearer {hub.token}",
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": "0",
            "Upload-Length": str(len(chunk)),
        },
        timeout=30,
    )
    assert upload.status_code != 413, upload.text
    # The console's forms have the JSON routes' limit.
    form = httpx.post(
        f"{hub.url}/console/login",
        content=b"a" * (2 * MiB),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert form.status_code == 413
    assert httpx.get(f"{hub.url}/healthz", timeout=10).status_code == 200
