"""The station's operator PIN: what the person at the PC types before a consent no program can give.

A simple signature or a pairing approval (and an advanced signature that reuses an
open token session, where a signing policy allows it) needs this PIN, typed on the
agent's own page. A local program can POST with the agent's own ``Origin``; it
cannot know the PIN. Ops or the user set it with ``puente agent operator-pin``.

Stored as a scrypt hash (``hashlib.scrypt``: OpenSSL's, so no extra dependency)
with a random salt in ``<data_dir>/operator-pin``, created 0600. Compared in
constant time; ``max_failures`` wrong PINs lock it for ``lockout_s``. The PIN
never reaches a log, an event, or the hub.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from pathlib import Path

import grpc

from edge_agent.errors import AgentError

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # 16 MB, ~0.1 s per check (bench/grpc_gate)
MIN_LENGTH, MAX_LENGTH = 6, 64
FILE_NAME = "operator-pin"


class PersonNotConfirmed(AgentError):
    code = "operator_pin_required"
    title = "Operator PIN required / Se requiere el PIN del operador"
    http_status = 403
    grpc_code = grpc.StatusCode.PERMISSION_DENIED


class OperatorPinNotSet(AgentError):
    code = "operator_pin_not_set"
    title = "No operator PIN / Sin PIN del operador"
    http_status = 409
    grpc_code = grpc.StatusCode.FAILED_PRECONDITION

    def __init__(self) -> None:
        super().__init__(
            "this station has no operator PIN yet: set one with `puente agent operator-pin` / "
            "esta estación aún no tiene PIN del operador: defínalo con `puente agent operator-pin`"
        )


class OperatorPinLocked(AgentError):
    code = "operator_pin_locked"
    title = "Operator PIN locked / PIN del operador bloqueado"
    http_status = 429
    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(
            f"too many wrong operator PINs; try again in {retry_after_s}s / "
            f"demasiados PIN del operador incorrectos; reintente en {retry_after_s}s"
        )
        self.retry_after_s = retry_after_s


def _derive(pin: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)


def check_new_pin(pin: str) -> None:
    if not (MIN_LENGTH <= len(pin) <= MAX_LENGTH) or pin.strip() != pin:
        raise ValueError(
            f"the operator PIN needs {MIN_LENGTH} to {MAX_LENGTH} characters, no surrounding "
            f"spaces / el PIN del operador necesita de {MIN_LENGTH} a {MAX_LENGTH} caracteres"
        )


class OperatorPin:
    """The station-local PIN hash and its failure counter."""

    def __init__(self, path: Path, *, max_failures: int = 5, lockout_s: float = 300.0) -> None:
        self.path = path
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self._lock = threading.Lock()
        self._failures = 0
        self._locked_until = 0.0

    def is_set(self) -> bool:
        return self.path.is_file()

    def set(self, pin: str) -> None:
        """Store a new PIN's hash (0600, whatever the umask), replacing the old one."""
        check_new_pin(pin)
        salt = secrets.token_bytes(16)
        digest = _derive(pin, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
        line = f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)

    def verify(self, pin: str | None, now: float | None = None) -> None:
        """Return if ``pin`` is the operator PIN; raise a bilingual AgentError otherwise."""
        now = time.monotonic() if now is None else now
        if not self.is_set():
            raise OperatorPinNotSet()
        with self._lock:
            if self._locked_until > now:
                raise OperatorPinLocked(int(self._locked_until - now) + 1)
            if not pin:
                raise PersonNotConfirmed(
                    "type the station's operator PIN on this page to confirm / "
                    "escriba el PIN del operador de la estación en esta página para confirmar"
                )
            scheme, n, r, p, salt, digest = self.path.read_text().strip().split("$")
            if scheme != "scrypt":
                raise OperatorPinNotSet()
            ok = hmac.compare_digest(
                _derive(pin[:MAX_LENGTH], bytes.fromhex(salt), int(n), int(r), int(p)),
                bytes.fromhex(digest),
            )
            if ok:
                self._failures = 0
                return
            self._failures += 1
            if self._failures >= self.max_failures:
                self._failures = 0
                self._locked_until = now + self.lockout_s
                raise OperatorPinLocked(int(self.lockout_s))
        raise PersonNotConfirmed(
            "wrong operator PIN / PIN del operador incorrecto", code="operator_pin_wrong"
        )
