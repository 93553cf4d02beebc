"""The console session: a signed cookie (HMAC-SHA256) holding the user, role, CSRF token, expiry
and, once signed in, a session id that the hub's store must still hold as live.

HttpOnly, SameSite=Strict, Secure when the request came over https. A visitor who
has not signed in still gets a session (no user) so that the sign-in form carries a
CSRF token too. Nothing secret is in the cookie: only who, which role, until when.
A signed-in session is also server-side (`web_sessions`, only the SHA-256 of its id):
signing out or disabling the user ends it at once in every hub process, whatever
the cookie still says; API/console processes keep no session state of their own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from fastapi import Request, Response

from hub.ingest.timefmt import iso_from_epoch, now_iso
from hub.web.auth import WebRole, WebUser

COOKIE = "puente_session"


@dataclass(frozen=True)
class Session:
    user: WebUser | None
    csrf: str
    expires: int
    lang: str = ""
    sid: str = ""  # server-side session id (signed-in sessions only)

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "u": self.user.name if self.user else None,
                "r": self.user.role.value if self.user else None,
                "c": self.csrf,
                "e": self.expires,
                "l": self.lang,
                "s": self.sid,
            },
            separators=(",", ":"),
        ).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_key(path: Path) -> bytes:
    """The signing key: made once (32 random bytes, mode 0600) and kept in the hub's data."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(secrets.token_bytes(32))
        tmp.chmod(0o600)
        tmp.replace(path)
    return path.read_bytes()


class SessionStore(Protocol):
    def open_session(self, sid_sha256: str, name: str, at: str, expires_at: str) -> None: ...

    def session_user(self, sid_sha256: str, now: str) -> str | None: ...

    def end_session(self, sid_sha256: str, at: str) -> None: ...


def _sid_hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


class SessionCodec:
    def __init__(self, key_file: Path, ttl_s: int, store: SessionStore | None = None) -> None:
        self.key_file = key_file
        self.ttl_s = ttl_s
        self.store = store  # None: cookie-only sessions (not revocable)
        self._key: bytes | None = None

    @property
    def key(self) -> bytes:
        """Read (or made) at the first console request, not when the app is built."""
        if self._key is None:
            self._key = load_key(self.key_file)
        return self._key

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self.key, body, hashlib.sha256).digest()

    def new(self, user: WebUser | None, lang: str = "") -> Session:
        expires = int(time.time()) + self.ttl_s
        sid = ""
        if user is not None and self.store is not None:
            sid = secrets.token_urlsafe(32)
            self.store.open_session(_sid_hash(sid), user.name, now_iso(), iso_from_epoch(expires))
        return Session(user, secrets.token_urlsafe(24), expires, lang, sid)

    def end(self, session: Session) -> None:
        """Sign-out: the server-side session ends now (its cookie is worth nothing after)."""
        if session.sid and self.store is not None:
            self.store.end_session(_sid_hash(session.sid), now_iso())

    def encode(self, session: Session) -> str:
        body = session.to_json()
        return f"{_b64(body)}.{_b64(self._mac(body))}"

    def decode(self, value: str | None) -> Session | None:
        """The session, or None if missing, tampered with or expired."""
        if not value or "." not in value:
            return None
        body_b64, mac_b64 = value.split(".", 1)
        try:
            body, mac = _unb64(body_b64), _unb64(mac_b64)
            if not hmac.compare_digest(mac, self._mac(body)):
                return None
            data = json.loads(body)
            if int(data["e"]) < time.time():
                return None
            user = WebUser(data["u"], WebRole(data["r"])) if data.get("u") else None
            sid = str(data.get("s") or "")
            if user is not None and self.store is not None:
                live = self.store.session_user(_sid_hash(sid), now_iso()) if sid else None
                if live != user.name:  # ended, expired, user disabled, or never opened
                    return None
            return Session(user, str(data["c"]), int(data["e"]), str(data.get("l") or ""), sid)
        except (ValueError, KeyError, TypeError):
            return None

    def set_cookie(self, request: Request, response: Response, session: Session) -> None:
        response.set_cookie(
            COOKIE,
            self.encode(session),
            max_age=self.ttl_s,
            path="/console",
            httponly=True,
            samesite="strict",
            secure=_https(request),
        )

    def clear_cookie(self, request: Request, response: Response) -> None:
        response.delete_cookie(
            COOKIE, path="/console", httponly=True, samesite="strict", secure=_https(request)
        )


def _https(request: Request) -> bool:
    # Behind a TLS-terminating proxy, run uvicorn with --proxy-headers so scheme is https.
    return request.url.scheme == "https"
