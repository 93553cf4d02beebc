"""The local API's gate, checked on every request before routing: Host, Origin, method, CORS, PNA.

A pure ASGI middleware, so it covers 404s, the docs, and any future
WebSocket or SSE route alike.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from edge_agent.errors import PROBLEM_MEDIA_TYPE, problem

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_HOST = re.compile(r"^(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$", re.IGNORECASE)
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
ALLOW_HEADERS = "Content-Type, Accept, Accept-Language, X-Request-Id"
PREFLIGHT_MAX_AGE = "600"


def own_origins(port: int) -> set[str]:
    return {f"http://127.0.0.1:{port}", f"http://localhost:{port}", f"http://[::1]:{port}"}


class LocalOnlyMiddleware:
    """Refuses what a web page on another origin, or a DNS-rebound name, could make us do."""

    def __init__(self, app: ASGIApp, allowed_origins: Iterable[str]) -> None:
        self.app = app
        self.allowed = {o.rstrip("/") for o in allowed_origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        host = headers.get("host", "")
        origin = headers.get("origin")
        method = scope.get("method", "GET").upper()
        refusal = self._check(scope, headers, host, origin, method)
        if refusal is not None:
            status, code, title, detail = refusal
            await _refuse(scope, send, problem(status, code, title, detail), origin=None)
            return
        if method == "OPTIONS" and origin and "access-control-request-method" in headers:
            await _preflight(send, origin, headers)
            return
        await self.app(scope, receive, _with_cors(send, origin))

    def _check(
        self, scope: Scope, headers: dict[str, str], host: str, origin: str | None, method: str
    ) -> tuple[int, str, str, str] | None:
        if not _HOST.match(host):
            return (
                421,
                "host_not_allowed",
                "Host not allowed / Host no permitido",
                f"this agent answers only to localhost, 127.0.0.1 or [::1], not {host!r} / "
                f"este agente solo responde a localhost, 127.0.0.1 o [::1], no a {host!r}",
            )
        if origin is not None and not self.origin_allowed(origin, scope):
            return (
                403,
                "origin_not_allowed",
                "Origin not allowed / Origen no permitido",
                f"origin {origin!r} is not allowed to call this agent / "
                f"el origen {origin!r} no tiene permiso para llamar a este agente",
            )
        if scope["type"] == "http" and method in STATE_CHANGING:
            if origin is None:
                return (
                    403,
                    "origin_required",
                    "Origin required / Se requiere Origin",
                    f"{method} needs an Origin header of an allowed origin / "
                    f"{method} necesita un encabezado Origin de un origen permitido",
                )
            media_type = headers.get("content-type", "").split(";")[0].strip().lower()
            if media_type != "application/json":
                return (
                    415,
                    "json_required",
                    "JSON required / Se requiere JSON",
                    f"{method} needs Content-Type: application/json / "
                    f"{method} necesita Content-Type: application/json",
                )
        return None

    def origin_allowed(self, origin: str, scope: Scope) -> bool:
        origin = origin.rstrip("/")
        if origin in self.allowed:
            return True
        server = scope.get("server")
        return bool(server) and origin in own_origins(int(server[1]))


def _headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in scope.get("headers", []):
        name = key.decode("latin-1").lower()
        # A repeated Host or Origin is suspicious: keep the first, which is what we check.
        out.setdefault(name, value.decode("latin-1"))
    return out


def _with_cors(send: Send, origin: str | None) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"vary"]
            headers.append((b"vary", b"Origin"))
            if origin is not None:
                headers.append((b"access-control-allow-origin", origin.encode("latin-1")))
            message["headers"] = headers
        await send(message)

    return wrapped


async def _preflight(send: Send, origin: str, headers: dict[str, str]) -> None:
    out = [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-allow-methods", ALLOW_METHODS.encode()),
        (b"access-control-allow-headers", ALLOW_HEADERS.encode()),
        (b"access-control-max-age", PREFLIGHT_MAX_AGE.encode()),
        (b"vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
        (b"content-length", b"0"),
    ]
    if headers.get("access-control-request-private-network", "").lower() == "true":
        out.append((b"access-control-allow-private-network", b"true"))
    if headers.get("access-control-request-local-network", "").lower() == "true":
        out.append((b"access-control-allow-local-network", b"true"))
    await send({"type": "http.response.start", "status": 204, "headers": out})
    await send({"type": "http.response.body", "body": b""})


async def _refuse(scope: Scope, send: Send, body: dict[str, Any], origin: str | None) -> None:
    if scope["type"] == "websocket":
        # Closing before accept makes the server answer the handshake with 403.
        await send({"type": "websocket.close", "code": 1008})
        return
    payload = json.dumps(body, ensure_ascii=False).encode()
    headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(payload)).encode()),
        (b"vary", b"Origin"),
    ]
    await send({"type": "http.response.start", "status": body["status"], "headers": headers})
    await send({"type": "http.response.body", "body": payload})
