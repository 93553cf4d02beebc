"""Pairing of web origins that provisioning did not allow: a code the user compares, then a token.

A page on an origin not on the allow-list asks to pair; the agent makes a
short code that both the page and the agent's own page show. When the user,
at the PC, sees the same code and approves on the agent's page, the agent
issues a per-origin token, handed once to that origin; the page sends it on
every call. Refused or expired requests count as failures; after
``max_failures`` in ``failure_window_s`` the origin is locked out for
``lockout_s``. Pairings persist (only the token's SHA-256 is stored) and can
be revoked at the agent.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from edge_agent.capabilities.pairing.errors import (
    AlreadyDecided,
    LockedOut,
    PairingBusy,
    PairingError,
    UnknownRequest,
)
from edge_agent.private_files import connect_sqlite
from edge_agent.ratelimit import RateLimiter

APP_PREFIX = "app:"  # the pairing key of a local gRPC application: "app:<name>"
APP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")


def app_key(app_name: str) -> str:
    """The pairing key of a gRPC application; ValueError for a name that can't be one."""
    if not APP_NAME.match(app_name):
        raise ValueError(
            "app_name: 1-64 of A-Z a-z 0-9 space . _ - / "
            "app_name: de 1 a 64 de A-Z a-z 0-9 espacio . _ -"
        )
    return APP_PREFIX + app_name


@dataclass
class PairingRequest:
    request_id: str
    origin: str
    code: str
    created_at: float
    expires_at: float
    state: str = "pending"  # pending | approved | refused | expired | claimed
    token: str | None = field(default=None, repr=False)  # held only until the page claims it


@dataclass(frozen=True)
class Pairing:
    origin: str
    created_at: str
    last_used_at: str | None


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class PairingStore:
    def __init__(
        self,
        path: Path,
        *,
        code_ttl_s: float = 120.0,
        max_failures: int = 5,
        failure_window_s: float = 600.0,
        lockout_s: float = 900.0,
        max_pending_per_origin: int = 3,
        max_pending_total: int = 5,
        requests_per_min: float = 10.0,
    ) -> None:
        self.code_ttl_s = code_ttl_s
        self.max_failures = max_failures
        self.failure_window_s = failure_window_s
        self.lockout_s = lockout_s
        self.max_pending_per_origin = max_pending_per_origin
        self.max_pending_total = max_pending_total
        # One bucket for every origin together: requests_per_min, bursts of max_pending_total.
        self._global_rate = RateLimiter(requests_per_min / 60.0, max_pending_total)
        self._lock = threading.Lock()
        self._requests: dict[str, PairingRequest] = {}
        self._failures: dict[str, list[float]] = {}
        self._locked_until: dict[str, float] = {}
        self._db = connect_sqlite(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS pairings (origin TEXT PRIMARY KEY, token_sha256 TEXT "
            "NOT NULL, created_at TEXT NOT NULL, last_used_at TEXT)"
        )
        self._paired = {
            origin: digest
            for origin, digest in self._db.execute("SELECT origin, token_sha256 FROM pairings")
        }

    # -- the requesting page -------------------------------------------------------------------

    def request(self, origin: str, now: float | None = None) -> PairingRequest:
        now = time.monotonic() if now is None else now
        if origin.strip().lower() in ("", "null"):
            raise PairingError(
                "an opaque origin (null) cannot pair / un origen opaco (null) no puede emparejarse"
            )
        with self._lock:
            self._expire(now)
            locked = self._locked_until.get(origin, 0.0)
            if locked > now:
                raise LockedOut(
                    f"too many failed pairings from {origin}; try again later / "
                    f"demasiados emparejamientos fallidos de {origin}; intente más tarde",
                    int(locked - now) + 1,
                )
            pending = [
                r for r in self._requests.values() if r.origin == origin and r.state == "pending"
            ]
            if len(pending) >= self.max_pending_per_origin:
                raise PairingError(
                    f"{origin} already has {len(pending)} pairing requests waiting / "
                    f"{origin} ya tiene {len(pending)} solicitudes pendientes"
                )
            waiting = [r for r in self._requests.values() if r.state == "pending"]
            if len(waiting) >= self.max_pending_total:
                soonest = min(r.expires_at for r in waiting)
                raise PairingBusy(
                    f"{len(waiting)} pairing requests already wait for the user; try again "
                    f"later / ya hay {len(waiting)} solicitudes de emparejamiento esperando al "
                    "usuario; intente más tarde",
                    max(1, math.ceil(soonest - now)),
                )
            wait = self._global_rate.allow("pairing", now)
            if wait > 0:
                raise PairingBusy(
                    "too many pairing requests from all sites; try again later / demasiadas "
                    "solicitudes de emparejamiento de todos los sitios; intente más tarde",
                    max(1, math.ceil(wait)),
                )
            request = PairingRequest(
                request_id=secrets.token_urlsafe(16),
                origin=origin,
                code=f"{secrets.randbelow(1_000_000):06d}",
                created_at=now,
                expires_at=now + self.code_ttl_s,
            )
            self._requests[request.request_id] = request
            return request

    def poll(self, request_id: str, origin: str, now: float | None = None) -> PairingRequest:
        """The request's state for the page that made it; the token is handed over once."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._expire(now)
            request = self._requests.get(request_id)
            if request is None or request.origin != origin:
                raise UnknownRequest("no such pairing request / no existe esa solicitud")
            snapshot = PairingRequest(**vars(request))
            if request.state == "approved":
                request.state, request.token = "claimed", None
            return snapshot

    # -- the user at the agent's own page ------------------------------------------------------

    def pending(self, now: float | None = None) -> list[PairingRequest]:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._expire(now)
            return [
                PairingRequest(**{**vars(r), "token": None})
                for r in self._requests.values()
                if r.state == "pending"
            ]

    def approve(self, request_id: str, now: float | None = None) -> PairingRequest:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._expire(now)
            request = self._decidable(request_id)
            token = secrets.token_urlsafe(32)
            self._db.execute(
                "INSERT INTO pairings (origin, token_sha256, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT(origin) DO UPDATE SET token_sha256 = excluded.token_sha256, "
                "created_at = excluded.created_at, last_used_at = NULL",
                (request.origin, _sha256(token), _now_iso()),
            )
            self._paired[request.origin] = _sha256(token)
            request.state, request.token = "approved", token
            self._failures.pop(request.origin, None)
            return PairingRequest(**{**vars(request), "token": None})

    def refuse(self, request_id: str, now: float | None = None) -> PairingRequest:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._expire(now)
            request = self._decidable(request_id)
            request.state = "refused"
            self._fail(request.origin, now)
            return PairingRequest(**vars(request))

    def issue(self, origin: str) -> str:
        """A credential made by ops at the station (``puente agent app-credential``), no code."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._db.execute(
                "INSERT INTO pairings (origin, token_sha256, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT(origin) DO UPDATE SET token_sha256 = excluded.token_sha256, "
                "created_at = excluded.created_at, last_used_at = NULL",
                (origin, _sha256(token), _now_iso()),
            )
            self._paired[origin] = _sha256(token)
        return token

    def revoke(self, origin: str) -> bool:
        with self._lock:
            gone = self._paired.pop(origin, None) is not None
            self._db.execute("DELETE FROM pairings WHERE origin = ?", (origin,))
            return gone

    def pairings(self) -> list[Pairing]:
        with self._lock:
            rows = self._db.execute(
                "SELECT origin, created_at, last_used_at FROM pairings ORDER BY created_at"
            ).fetchall()
        return [Pairing(*row) for row in rows]

    # -- every call ------------------------------------------------------------------------------

    def is_paired(self, origin: str) -> bool:
        return origin in self._paired

    def check(self, origin: str, token: str | None) -> bool:
        digest = self._paired.get(origin)
        if digest is None and origin.startswith(APP_PREFIX) and token:
            # An app credential ops issued from another process while the agent runs.
            row = self._db.execute(
                "SELECT token_sha256 FROM pairings WHERE origin = ?", (origin,)
            ).fetchone()
            digest = row[0] if row else None
            if digest is not None:
                self._paired[origin] = digest
        if digest is None or not token:
            return False
        ok = hmac.compare_digest(digest, _sha256(token))
        if ok:
            self._db.execute(
                "UPDATE pairings SET last_used_at = ? WHERE origin = ?", (_now_iso(), origin)
            )
        return ok

    def locked_out(self, origin: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        return self._locked_until.get(origin, 0.0) > now

    def close(self) -> None:
        self._db.close()

    # -- internals --------------------------------------------------------------------------------

    def _decidable(self, request_id: str) -> PairingRequest:
        request = self._requests.get(request_id)
        if request is None:
            raise UnknownRequest("no such pairing request / no existe esa solicitud")
        if request.state != "pending":
            raise AlreadyDecided(
                f"the request is already {request.state} / la solicitud ya está {request.state}"
            )
        return request

    def _expire(self, now: float) -> None:
        for request in list(self._requests.values()):
            if request.state == "pending" and request.expires_at <= now:
                request.state = "expired"
                self._fail(request.origin, now)
            if request.expires_at + self.code_ttl_s <= now:
                del self._requests[request.request_id]

    def _fail(self, origin: str, now: float) -> None:
        recent = [t for t in self._failures.get(origin, []) if now - t < self.failure_window_s]
        recent.append(now)
        self._failures[origin] = recent
        if len(recent) >= self.max_failures:
            self._locked_until[origin] = now + self.lockout_s
            self._failures[origin] = []
