"""One-time enrollment codes: short-lived, single use, stored only as a hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from provisioning.errors import EnrollmentRefused

# Crockford-like alphabet without look-alikes (0/O, 1/I/L) so codes read well over the phone.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_GROUPS = 4  # XXXX-XXXX-XXXX-XXXX: 16 symbols ≈ 79 bits


def new_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(4 * CODE_GROUPS))
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def normalise(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def code_hash(code: str) -> str:
    """SHA-256 of the normalised code: what the hub stores (the code is ~79 random bits)."""
    return hashlib.sha256(normalise(code).encode()).hexdigest()


@dataclass(frozen=True)
class CodeRecord:
    code_sha256: str
    station_id: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    created_by: str


def issue(
    station_id: str, ttl: timedelta, now: datetime, created_by: str
) -> tuple[str, CodeRecord]:
    """A fresh code (shown once) and the record to store."""
    code = new_code()
    return code, CodeRecord(code_hash(code), station_id, now, now + ttl, None, created_by)


def check(record: CodeRecord | None, code: str, now: datetime) -> CodeRecord:
    """The record if ``code`` may enroll now; EnrollmentRefused with the reason otherwise."""
    if record is None or not hmac.compare_digest(record.code_sha256, code_hash(code)):
        raise EnrollmentRefused(
            "unknown enrollment code / código de inscripción desconocido", "unknown_code"
        )
    if record.used_at is not None:
        raise EnrollmentRefused(
            "this enrollment code was already used / este código de inscripción ya se usó",
            "code_used",
        )
    if now >= record.expires_at:
        raise EnrollmentRefused(
            "this enrollment code has expired / este código de inscripción venció", "code_expired"
        )
    return record
