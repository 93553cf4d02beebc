"""The token family's interface: what a signing token offers, and its errors (code + reason)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from drivers.base import DeviceUnavailable, DriverError

FAMILY = "token"


class TokenError(DriverError):
    """Base of the token family's errors."""

    code = "token_error"


class WrongPin(TokenError):
    """The PIN was refused. Never retried automatically: a real card locks after a few tries."""

    code = "wrong_pin"

    def __init__(
        self,
        reason: str = "",
        *,
        tries_low: bool = False,
        final_try: bool = False,
        code: str | None = None,
    ) -> None:
        super().__init__(
            reason
            or (
                "the PIN is wrong"
                + ("; the next wrong PIN locks the token" if final_try else "")
                + " / el PIN es incorrecto"
                + ("; un PIN incorrecto más bloquea el token" if final_try else "")
            ),
            code=code,
        )
        self.tries_low = tries_low
        self.final_try = final_try


class PinLocked(TokenError):
    code = "pin_locked"

    def __init__(self, reason: str = "") -> None:
        super().__init__(
            reason
            or "the token's PIN is locked; ask the certificate authority to unlock it / "
            "el PIN del token está bloqueado; pida el desbloqueo a la autoridad certificadora"
        )


class PinRequired(TokenError):
    """No PIN was given and no session is open."""

    code = "pin_required"

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason or "the token's PIN is required / se requiere el PIN del token")


class TokenAbsent(DeviceUnavailable, TokenError):
    code = "token_absent"

    def __init__(self, reason: str = "") -> None:
        super().__init__(
            reason
            or "the signing token is not connected; insert it and try again / "
            "el token de firma no está conectado; insértelo e intente de nuevo"
        )


class CertificateExpired(TokenError):
    code = "certificate_expired"


class CertificateNotYetValid(TokenError):
    code = "certificate_not_yet_valid"


class NoSuchCertificate(TokenError):
    code = "certificate_not_found"


class TokenFailed(TokenError):
    """The token or its library failed in a way the user cannot fix by retyping the PIN."""

    code = "token_failed"


class KeyType(enum.Enum):
    RSA = "rsa"
    EC = "ec"


@dataclass(frozen=True)
class TokenInfo:
    slot_id: int
    label: str
    serial: str
    manufacturer: str
    model: str
    present: bool


@dataclass(frozen=True)
class CertificateInfo:
    """A certificate on a token with a private key next to it (same CKA_ID)."""

    token_serial: str
    token_label: str
    key_id: str  # CKA_ID, hex
    label: str
    subject: str
    issuer: str
    serial: str
    not_before: datetime
    not_after: datetime
    key_usage: tuple[str, ...]
    key_type: KeyType
    der: bytes

    @property
    def cert_id(self) -> str:
        """How callers name this certificate: ``<token serial>:<key id>``."""
        return f"{self.token_serial}:{self.key_id}"

    def check_valid(self, now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        if now > self.not_after:
            raise CertificateExpired(
                f"the certificate of {self.subject} expired on {self.not_after:%Y-%m-%d}; "
                "renew it with the certificate authority / "
                f"el certificado venció el {self.not_after:%Y-%m-%d}; renuévelo"
            )
        if now < self.not_before:
            raise CertificateNotYetValid(
                f"the certificate of {self.subject} is valid from {self.not_before:%Y-%m-%d} / "
                f"el certificado es válido desde {self.not_before:%Y-%m-%d}"
            )


@runtime_checkable
class SigningToken(Protocol):
    """A PKCS#11 library with its tokens; one signature at a time."""

    family: str

    def tokens(self) -> list[TokenInfo]: ...

    def certificates(self) -> list[CertificateInfo]: ...

    def sign(self, cert_id: str, data: bytes, pin: str | None) -> bytes:
        """Sign ``data`` with the key next to ``cert_id``.

        Always SHA-256: RSA signs PKCS#1 v1.5 (CKM_SHA256_RSA_PKCS); EC hashes
        here and signs the digest with raw CKM_ECDSA (SoftHSM and many cards lack
        hashed ECDSA), returning DER. ``pin`` None uses the session still open
        from the last PIN (ops' idle window) or raises PinRequired.
        """
        ...

    def logout(self) -> None: ...
