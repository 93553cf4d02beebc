"""The body-limit middleware at the ASGI level: exact edges, streaming, and what the app sees."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from puente_http.body_limit import (
    DRAIN_MAX_BYTES,
    BodyLimitMiddleware,
    BodyRule,
    human_size,
    too_large_detail,
)

LIMIT = 100


def _problem(limit: int, size: int | None, path: str) -> dict[str, Any]:
    return {"status": 413, "code": "body_too_large", "detail": too_large_detail(limit, size, path)}


async def _echo_length(scope: Any, receive: Any, send: Any) -> None:
    """An app that reads the whole body and answers its length (as FastAPI's routes do)."""
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionError("client went away")  # like starlette's ClientDisconnect
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


def _run(
    chunks: list[bytes], *, path: str = "/v1/events", content_length: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Send ``chunks`` through the middleware; returns what went out and how many were read."""
    app = BodyLimitMiddleware(
        _echo_length,
        default_limit=LIMIT,
        rules=[BodyRule(r"/v1/signing/jobs", 10 * LIMIT)],
        problem=_problem,
    )
    headers = [] if content_length is None else [(b"content-length", str(content_length).encode())]
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    pending = list(chunks)
    read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        if not pending:
            await asyncio.sleep(3600)  # the client never sends more
        read += 1
        body = pending.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(pending)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(asyncio.wait_for(app(scope, receive, send), 5))
    return sent, read


def test_a_body_of_exactly_the_limit_is_read_and_one_byte_more_is_not() -> None:
    sent, _ = _run([b"x" * 60, b"x" * 40], content_length=LIMIT)
    assert sent[0]["status"] == 200 and sent[1]["body"] == b"100"
    sent, read = _run([b"x" * 101], content_length=LIMIT + 1)
    # Refused from the header alone: the app never sees it. A body of a few MiB is read and
    # dropped first (never parsed), so that the client gets its 413 on a clean connection.
    assert sent[0]["status"] == 413 and read == 1
    assert (b"connection", b"close") in sent[0]["headers"]
    problem = json.loads(sent[1]["body"])
    assert problem["code"] == "body_too_large" and "101 bytes" in problem["detail"]
    # A far larger declared body is not waited for: answered at once, connection closed.
    sent, read = _run([b"x" * 101], content_length=DRAIN_MAX_BYTES + 1)
    assert sent[0]["status"] == 413 and read == 0
    assert (b"connection", b"close") in sent[0]["headers"]


def test_a_chunked_body_is_refused_when_the_count_passes_the_limit_not_at_its_end() -> None:
    # Four chunks would follow, but the third one passes the limit: the fourth is never asked.
    sent, read = _run([b"x" * 40, b"x" * 40, b"x" * 40, b"x" * 40])
    assert read == 3
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 413  # the app's own answer after the "disconnect" is dropped
    assert "más de 100 bytes" in json.loads(sent[1]["body"])["detail"]


def test_each_route_has_its_own_limit() -> None:
    sent, _ = _run([b"x" * 500], path="/v1/signing/jobs", content_length=500)
    assert sent[0]["status"] == 200
    sent, _ = _run([b"x" * 500], path="/v1/events", content_length=500)
    assert sent[0]["status"] == 413


def test_sizes_read_as_people_write_them() -> None:
    assert human_size(1024 * 1024) == "1 MiB"
    assert human_size(9 * 1024 * 1024 + 512 * 1024) == "9.5 MiB"
    assert human_size(512) == "512 B"
