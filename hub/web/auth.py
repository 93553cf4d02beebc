"""Who may sign in to the console: the `Authenticator` interface and its local user store.

The demo and small sites use `LocalUsers` (users in the hub's database, passwords
hashed with scrypt, created by ``puente hub user add``). Production can plug in an
identity provider instead: an authenticator whose sign-in is an OpenID Connect
redirect (docs/provisioning.md, "Console sign-in"); every page only sees a `WebUser`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from hub.ingest.timefmt import now_iso
from hub.storage.base import NotFound, Store
from hub.storage.web_users import WebUserStore


class WebRole(StrEnum):
    OPS = "ops"  # the fleet: stations, devices, enrollment, retirement
    CLINICIAN = "clinician"  # cases (the clinician console of a later issue)


@dataclass(frozen=True)
class WebUser:
    """A signed-in person: the name shown and the role pages check (never a password)."""

    name: str
    role: WebRole


class Authenticator(Protocol):
    """A way to sign in. Local: name + password; an OIDC one would redirect instead."""

    kind: str

    def authenticate(self, name: str, password: str) -> WebUser | None: ...


# scrypt cost: 2^14 x 8 x 1 = 16 MiB, ~50 ms per check on one core (OWASP's minimum).
_N, _R, _P = 2**14, 8, 1
MIN_PASSWORD = 10


class WeakPassword(ValueError):
    code = "weak_password"


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise WeakPassword(
            f"use at least {MIN_PASSWORD} characters / use al menos {MIN_PASSWORD} caracteres"
        )
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(want),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


# A hash of nothing anyone types: unknown names cost the same time as known ones.
_DUMMY = (
    f"scrypt${_N}${_R}${_P}${base64.b64encode(b'0' * 16).decode()}$"
    f"{base64.b64encode(b'0' * 32).decode()}"
)


class LocalUsers:
    """Users kept in the hub's database (table ``web_users``)."""

    kind = "local"

    def __init__(self, store: Store) -> None:
        self.users: WebUserStore = store.web_users()

    def _known(self, name: str) -> None:
        if self.users.get(name) is None:
            raise NotFound(f"no user {name} / no existe el usuario {name}")

    def disable(self, name: str) -> None:
        """No more sign-ins, and every session of the user ends on its next request."""
        self._known(name)
        self.users.set_disabled(name, now_iso())  # ends the user's server-side sessions

    def enable(self, name: str) -> None:
        self._known(name)
        self.users.set_disabled(name, None)

    def reset_password(self, name: str, password: str) -> None:
        """A new password; sessions signed in with the old one end."""
        self._known(name)
        self.users.set_password(name, hash_password(password))
        self.users.end_sessions(name, now_iso())

    def add(self, name: str, role: WebRole, password: str) -> None:
        if not name or len(name) > 64 or not name.isprintable():
            raise ValueError("invalid user name / nombre de usuario no válido")
        self.users.add(name, role.value, hash_password(password), now_iso())

    def authenticate(self, name: str, password: str) -> WebUser | None:
        record = self.users.get(name)
        if record is None:
            verify_password(password, _DUMMY)
            return None
        if not verify_password(password, record.password_hash) or record.disabled_at:
            return None
        return WebUser(record.name, WebRole(record.role))
