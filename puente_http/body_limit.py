"""Request-body limits for an ASGI app: 413 before a byte past the route's limit is parsed.

One pure ASGI middleware per app, not a check per handler: it looks at the
route's limit (the first :class:`BodyRule` whose pattern matches the path, else
the default). When ``Content-Length`` declares more, the app never sees the
request: a body up to ``DRAIN_MAX_BYTES`` is read and dropped (never parsed or
kept) before the 413, because closing a connection with unread bytes makes the
kernel reset it and the client loses the answer; a larger one is answered at
once. Otherwise it counts the bytes of the body as they arrive (chunked bodies
included), answering 413 and telling the app the client went away the moment
the count passes the limit. The 413 carries ``Connection: close``.

Hand-written: the one package for this (content-size-limit-asgi) has had no
release since 2020, has a single global limit and raises an exception instead
of answering, so it cannot give per-route limits or RFC 9457 problem details.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
# (limit in bytes, declared Content-Length or None while streaming, path) -> problem body
ProblemFactory = Callable[[int, int | None, str], dict[str, Any]]

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BodyRule:
    """Requests whose path matches ``pattern`` (full match) may carry up to ``limit`` bytes."""

    pattern: str
    limit: int

    def matches(self, path: str) -> bool:
        return re.fullmatch(self.pattern, path) is not None


def human_size(n: int) -> str:
    """1048576 -> '1 MiB'; used in the bilingual detail of the problem."""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} B"


def too_large_detail(limit: int, size: int | None, path: str) -> str:
    """The bilingual sentence both apps put in their 413 problem's ``detail``."""
    seen = f"{size} bytes" if size is not None else f"more than {limit} bytes"
    visto = f"{size} bytes" if size is not None else f"más de {limit} bytes"
    return (
        f"the body of a request to {path} may be at most {human_size(limit)} ({limit} bytes); "
        f"this one has {seen} / el cuerpo de una solicitud a {path} puede tener como máximo "
        f"{human_size(limit)} ({limit} bytes); esta tiene {visto}"
    )


class BodyLimitMiddleware:
    """Refuses request bodies larger than the route's limit, before reading them."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        default_limit: int,
        problem: ProblemFactory,
        rules: Sequence[BodyRule] = (),
    ) -> None:
        self.app = app
        self.default_limit = default_limit
        self.rules = tuple(rules)
        self.problem = problem

    def limit_for(self, path: str) -> int:
        for rule in self.rules:
            if rule.matches(path):
                return rule.limit
        return self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = self.limit_for(path)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            if declared > DRAIN_MAX_BYTES:
                await self._answer(send, limit, declared, path)  # and the connection closes
                return
            # Read the body and throw it away (never parsed, never kept) before answering: a
            # server that answers and closes with unread bytes makes the kernel reset the
            # connection, and the client then loses the 413 (seen with a 2 MiB form); read
            # whole, it closes cleanly. A far larger body is not waited for.
            await _discard_body(receive)
            await self._answer(send, limit, declared, path)
            return

        received = 0
        state = {"started": False, "refused": False}

        async def limited_receive() -> Message:
            nonlocal received
            if state["refused"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    state["refused"] = True
                    if not state["started"]:
                        await self._answer(send, limit, None, path)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if state["refused"]:
                return  # the 413 went out; whatever the app answers now is dropped
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not state["refused"]:
                raise
            # The app saw the client "disconnect" mid-body; the caller already has its 413.
            log.debug("request body over %d bytes to %s refused", limit, path)

    async def _answer(self, send: Send, limit: int, size: int | None, path: str) -> None:
        body = self.problem(limit, size, path)
        payload = json.dumps(body, ensure_ascii=False).encode()
        headers = [
            (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
            (b"content-length", str(len(payload)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


DRAIN_MAX_BYTES = 16 * 1024 * 1024  # a declared body up to this is read and dropped first
DRAIN_MAX_S = 10.0  # and for at most this long


async def _discard_body(receive: Receive) -> None:
    async def drain() -> None:
        while True:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                return

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(drain(), DRAIN_MAX_S)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key.lower() == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None
