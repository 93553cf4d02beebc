"""Personal operator PINs: what the person at the PC types before a consent no program can give.

A simple signature or a pairing approval (and an advanced signature that reuses an
open token session, where a signing policy allows it) needs the PIN of a named
operator (the nurse, doctor or pharmacist at the station), typed on the agent's own
page. A local program can POST with the agent's own ``Origin``; it cannot know the
PIN. Each person has their own PIN (``puente agent operator-pin --operator NAME``), so
the audit says who confirmed; a station with a single operator may be confirmed
without naming them.

Stored as scrypt hashes (``hashlib.scrypt``: OpenSSL's, so no extra dependency),
one line per operator with a random salt, in ``<data_dir>/operator-pin``, created
0600. Compared in constant time; ``max_failures`` wrong PINs (any operator) lock
confirmation for ``lockout_s``. A PIN never reaches a log, an event, or the hub.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import threading
import time
from pathlib import Path

from edge_agent.errors import AgentError

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # 16 MB, ~0.1 s per check (bench/grpc_gate)
MIN_LENGTH, MAX_LENGTH = 6, 64
FILE_NAME = "operator-pin"
STATION_OPERATOR = "station"  # the name of a PIN set without one (and of older files' PIN)
OPERATOR_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


class PersonNotConfirmed(AgentError):
    code = "operator_pin_required"
    title = "Operator PIN required / Se requiere el PIN del operador"
    http_status = 403
    grpc_status = "PERMISSION_DENIED"


class OperatorPinNotSet(AgentError):
    code = "operator_pin_not_set"
    title = "No operator PIN / Sin PIN del operador"
    http_status = 409
    grpc_status = "FAILED_PRECONDITION"

    def __init__(self) -> None:
        super().__init__(
            "this station has no operator PIN yet: set one with `puente agent operator-pin` / "
            "esta estación aún no tiene PIN del operador: defínalo con `puente agent operator-pin`"
        )


class OperatorPinLocked(AgentError):
    code = "operator_pin_locked"
    title = "Operator PIN locked / PIN del operador bloqueado"
    http_status = 429
    grpc_status = "RESOURCE_EXHAUSTED"

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


def check_operator(name: str) -> None:
    if not OPERATOR_NAME.match(name):
        raise ValueError(
            "operator: 1-64 of A-Z a-z 0-9 . _ @ -, starting with a letter or digit / "
            "operador: de 1 a 64 de A-Z a-z 0-9 . _ @ -, empezando por letra o dígito"
        )


class OperatorPin:
    """The station's operator PIN hashes (one per person) and the failure counter."""

    def __init__(self, path: Path, *, max_failures: int = 5, lockout_s: float = 300.0) -> None:
        self.path = path
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self._lock = threading.Lock()
        self._failures = 0
        self._locked_until = 0.0

    def _read(self) -> dict[str, str]:
        """operator -> "scrypt$n$r$p$salt$digest"; a line without a name is the station's."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return {}
        hashes: dict[str, str] = {}
        for line in text.splitlines():
            parts = line.strip().split("$")
            if len(parts) == 6:
                hashes[STATION_OPERATOR] = line.strip()
            elif len(parts) == 7:
                hashes[parts[0]] = "$".join(parts[1:])
        return hashes

    def _write(self, hashes: dict[str, str]) -> None:
        text = "".join(f"{name}${line}\n" for name, line in sorted(hashes.items()))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, text.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)

    def is_set(self) -> bool:
        return bool(self._read())

    def operators(self) -> list[str]:
        return sorted(self._read())

    def set(self, pin: str, operator: str = STATION_OPERATOR) -> None:
        """Store ``operator``'s new PIN hash (0600, whatever the umask), replacing theirs."""
        check_new_pin(pin)
        check_operator(operator)
        salt = secrets.token_bytes(16)
        digest = _derive(pin, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
        with self._lock:
            hashes = self._read()
            line = f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"
            hashes[operator] = line
            self._write(hashes)

    def remove(self, operator: str) -> bool:
        with self._lock:
            hashes = self._read()
            if hashes.pop(operator, None) is None:
                return False
            self._write(hashes)
            return True

    def verify(self, pin: str | None, operator: str | None = None, now: float | None = None) -> str:
        """Return who confirmed if ``pin`` is ``operator``'s PIN (the only operator's, when
        none is named and the station has one); raise a bilingual AgentError otherwise."""
        now = time.monotonic() if now is None else now
        hashes = self._read()
        if not hashes:
            raise OperatorPinNotSet()
        with self._lock:
            if self._locked_until > now:
                raise OperatorPinLocked(int(self._locked_until - now) + 1)
            if not pin:
                raise PersonNotConfirmed(
                    "type your operator PIN on this page to confirm / "
                    "escriba su PIN de operador en esta página para confirmar"
                )
            if not operator:
                if len(hashes) != 1:
                    raise PersonNotConfirmed(
                        "name the operator who confirms / indique el operador que confirma",
                        code="operator_required",
                    )
                (operator,) = hashes
            stored = hashes.get(operator)
            ok = False
            if stored is not None:
                scheme, n, r, p, salt, digest = stored.split("$")
                ok = scheme == "scrypt" and hmac.compare_digest(
                    _derive(pin[:MAX_LENGTH], bytes.fromhex(salt), int(n), int(r), int(p)),
                    bytes.fromhex(digest),
                )
            else:  # same cost as a wrong PIN: the answer does not tell who is an operator
                _derive(pin[:MAX_LENGTH], b"\0" * 16, SCRYPT_N, SCRYPT_R, SCRYPT_P)
            if ok:
                self._failures = 0
                return operator
            self._failures += 1
            if self._failures >= self.max_failures:
                self._failures = 0
                self._locked_until = now + self.lockout_s
                raise OperatorPinLocked(int(self.lockout_s))
        raise PersonNotConfirmed(
            "wrong operator name or operator PIN / operador o PIN de operador incorrecto",
            code="operator_pin_wrong",
        )
