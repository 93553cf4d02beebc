"""The local API's gate, checked on every request before routing: Host, Origin, token, rate, CORS.

A pure ASGI middleware, so it covers 404s, the docs, and every WebSocket or
SSE route alike. An origin is trusted when provisioning allowed it or it is
the agent's own; an origin the user paired must also present its pairing
token (``X-Puente-Token``, or ``puente_token`` in the query of a GET or
WebSocket upgrade, which EventSource and WebSocket can't give headers to);
any other origin may only ask to pair. Every decision to refuse is audited.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from edge_agent.api.problems import PROBLEM_MEDIA_TYPE, problem
from edge_agent.audit import AuditLog
from edge_agent.capabilities.pairing.service import PairingStore
from edge_agent.ratelimit import RateLimiter

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_HOST = re.compile(r"^(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$", re.IGNORECASE)
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Content types a page may send without a CORS preflight ("simple requests"): a state
# change must never arrive as one of these, so every write is preflighted and origin-checked.
SIMPLE_CONTENT_TYPES = frozenset(
    {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}
)
ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
ALLOW_HEADERS = "Content-Type, Accept, Accept-Language, X-Request-Id, X-Puente-Token"
TOKEN_HEADER = "x-puente-token"
TOKEN_QUERY = "puente_token"
PAIRING_PATH = re.compile(r"^/v1/pairing/(status|requests(/[A-Za-z0-9_-]{1,64})?)$")
PREFLIGHT_MAX_AGE = "600"
LOCAL_KEY = "local programs (no Origin)"
RATE_AUDIT_EVERY_S = 60.0


def own_origins(port: int) -> set[str]:
    return {f"http://127.0.0.1:{port}", f"http://localhost:{port}", f"http://[::1]:{port}"}


class LocalOnlyMiddleware:
    """Refuses what a web page on another origin, or a DNS-rebound name, could make us do."""

    def __init__(
        self,
        app: ASGIApp,
        allowed_origins: Iterable[str],
        pairings: PairingStore | None = None,
        limiter: RateLimiter | None = None,
        audit: AuditLog | None = None,
        local_limiter: RateLimiter | None = None,
    ) -> None:
        self.app = app
        self.allowed = {o.rstrip("/") for o in allowed_origins}
        self.pairings = pairings
        self.limiter = limiter
        # Local programs send no Origin; they share one budget of their own.
        self.local_limiter = local_limiter
        self._rate_audited: dict[str, float] = {}
        self.audit = audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        host = headers.get("host", "")
        origin = headers.get("origin")
        method = scope.get("method", "GET").upper()
        refusal = self._check(scope, headers, host, origin, method)
        retry_after = None
        if refusal is None:
            limited = self._rate(origin)
            if limited is not None:
                refusal, retry_after = limited
        if refusal is not None:
            status, code, title, detail = refusal
            if self.audit is not None and self._worth_auditing(code, origin):
                self.audit.record(
                    code, origin=origin, host=host, method=method, path=scope.get("path", "")
                )
            extra = {"retry-after": retry_after} if retry_after else {}
            if origin is not None and self._known(origin, scope):
                # An allowed or paired page may read why (re-pair, slow down); an unknown
                # origin learns nothing from a refusal. Never a wildcard.
                extra["access-control-allow-origin"] = origin
            await _refuse(scope, send, problem(status, code, title, detail), extra)
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
        if origin is not None and origin.strip().lower() == "null":
            # An opaque origin (sandboxed iframe, data: URL, file:, some redirects): every
            # such page shares the one name "null", so it can be neither allowed nor paired.
            return (
                403,
                "origin_null",
                "Opaque origin refused / Origen opaco rechazado",
                "a page with Origin: null (sandboxed frame, data: or file: URL) may not call or "
                "pair with this agent / una página con Origin: null (marco aislado, URL data: o "
                "file:) no puede llamar ni emparejarse con este agente",
            )
        if origin is not None and not self.origin_allowed(origin, scope):
            paired = self.pairings is not None and self.pairings.is_paired(origin.rstrip("/"))
            preflight = method == "OPTIONS" and "access-control-request-method" in headers
            pairing_call = self.pairings is not None and PAIRING_PATH.match(scope.get("path", ""))
            if paired and not preflight and not pairing_call:
                assert self.pairings is not None
                if not self.pairings.check(origin.rstrip("/"), _token(scope, headers, method)):
                    return (
                        403,
                        "pairing_token_invalid",
                        "Pairing token required / Se requiere el token de emparejamiento",
                        f"origin {origin!r} is paired: send its token in X-Puente-Token / "
                        f"el origen {origin!r} está emparejado: envíe su token en X-Puente-Token",
                    )
            elif not pairing_call and not (paired and preflight):
                return (
                    403,
                    "origin_not_allowed",
                    "Origin not allowed / Origen no permitido",
                    f"origin {origin!r} is not allowed to call this agent; it may ask to pair "
                    f"(POST /v1/pairing/requests) / el origen {origin!r} no tiene permiso para "
                    "llamar a este agente; puede solicitar emparejamiento",
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
            if not media_type or media_type in SIMPLE_CONTENT_TYPES:
                return (
                    415,
                    "json_required",
                    "JSON required / Se requiere JSON",
                    f"{method} needs Content-Type: application/json (or another type a browser "
                    f"must preflight, e.g. application/pdf) / {method} necesita "
                    "Content-Type: application/json (u otro tipo que el navegador verifique antes)",
                )
        return None

    def _rate(self, origin: str | None) -> tuple[tuple[int, str, str, str], str] | None:
        if origin is None:
            return self._local_rate()
        if self.limiter is None:
            return None
        wait = self.limiter.allow(origin.rstrip("/"))
        if wait <= 0:
            return None
        return (
            429,
            "rate_limited",
            "Too many requests / Demasiadas solicitudes",
            f"origin {origin!r} is sending too many requests; retry in {int(wait) + 1}s / "
            f"el origen {origin!r} envía demasiadas solicitudes; reintente en {int(wait) + 1}s",
        ), str(int(wait) + 1)

    def _worth_auditing(self, code: str, origin: str | None) -> bool:
        """Every refusal is audited, except that a flood's 429s are written once a minute per
        origin: a flood must not turn into a disk write per request on the event loop."""
        if code != "rate_limited":
            return True
        now = time.monotonic()
        key = origin or LOCAL_KEY
        if now - self._rate_audited.get(key, -RATE_AUDIT_EVERY_S) < RATE_AUDIT_EVERY_S:
            return False
        if len(self._rate_audited) > 10_000:
            self._rate_audited.clear()
        self._rate_audited[key] = now
        return True

    def _local_rate(self) -> tuple[tuple[int, str, str, str], str] | None:
        if self.local_limiter is None:
            return None
        wait = self.local_limiter.allow(LOCAL_KEY)
        if wait <= 0:
            return None
        seconds = int(wait) + 1
        return (
            429,
            "rate_limited",
            "Too many requests / Demasiadas solicitudes",
            f"local programs (requests without Origin) are sending too many requests; retry in "
            f"{seconds}s / los programas locales (solicitudes sin Origin) envían demasiadas "
            f"solicitudes; reintente en {seconds}s",
        ), str(seconds)

    def _known(self, origin: str, scope: Scope) -> bool:
        if self.origin_allowed(origin, scope):
            return True
        return self.pairings is not None and self.pairings.is_paired(origin.rstrip("/"))

    def origin_allowed(self, origin: str, scope: Scope) -> bool:
        origin = origin.rstrip("/")
        if origin in self.allowed:
            return True
        server = scope.get("server")
        return server is not None and origin in own_origins(int(server[1]))


def _token(scope: Scope, headers: dict[str, str], method: str) -> str | None:
    token = headers.get(TOKEN_HEADER)
    if token:
        return token
    if method == "GET" or scope["type"] == "websocket":
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        values = query.get(TOKEN_QUERY)
        return values[0] if values else None
    return None


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


async def _refuse(
    scope: Scope, send: Send, body: dict[str, Any], extra: dict[str, str] | None = None
) -> None:
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
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": body["status"], "headers": headers})
    await send({"type": "http.response.body", "body": payload})
