"""A patient's enrolled templates: fetched from the hub, cached at the station for offline use.

The hub is asked first (``GET /v1/patients/{id}/fingerprint-templates`` with
the station's Bearer token); its answer replaces the cache rows of the
patient. When the hub cannot be reached (network, timeout, 5xx), the cache
answers if its rows are younger than ``cache_max_age_s``. A template enrolled
at this station goes into the cache at once, so verification works right
after enrollment even offline. When the hub refuses the station this patient
(403: no open case in the station's unit), the patient's cached rows are
deleted too.

Encrypted at rest: the cache is SQLite in the data dir (mode 0600) holding
each template AES-256-GCM encrypted (random 96-bit nonce per row; patient,
finger and enrollment event id as associated data, so a row can't be moved to
another patient). The key is 32 random bytes in ``fp-cache.key`` next to the
cache (mode 0600, made on first use). Losing or replacing the key costs only
the cache: rows that no longer decrypt are dropped and fetched again. A cache
of an older version (plaintext ``templates`` table) is dropped with SQLite's
secure_delete on.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from edge_agent.capabilities.fingerprint.errors import TemplatesRefused, TemplatesUnavailable
from edge_agent.capabilities.fingerprint.settings import FingerprintSettings
from edge_agent.private_files import connect_sqlite, open_private, private_dir

if TYPE_CHECKING:  # httpx and cryptography load with the first template asked for
    import httpx
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger(__name__)


@dataclass(frozen=True, repr=False)
class EnrolledTemplate:
    finger: int
    template: bytes
    template_sha256: bytes
    event_id: str

    def __repr__(self) -> str:
        return f"EnrolledTemplate(finger={self.finger}, event_id={self.event_id})"


def _aad(patient_id: str, finger: int, event_id: str) -> bytes:
    return f"puente/fp-cache\x00{patient_id}\x00{finger}\x00{event_id}".encode()


def _private_file(path: Path, make: bytes | None = None) -> None:
    if not path.exists():
        with os.fdopen(open_private(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL), "wb") as f:
            if make is not None:
                f.write(make)
    os.chmod(path, 0o600)


def _detail(response: httpx.Response) -> str:
    """The hub's RFC 9457 ``detail`` (already bilingual), else the start of the body."""
    try:
        return str(response.json()["detail"])[:400]
    except (ValueError, KeyError, TypeError):
        return response.text[:200]


class TemplateSource:
    def __init__(self, settings: FingerprintSettings, path: Path) -> None:
        self.settings = settings
        self.path = path
        self.key_path = path.with_name("fp-cache.key")
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._aead: AESGCM | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            private_dir(self.path.parent)
            _private_file(self.key_path, AESGCM.generate_key(bit_length=256))
            key = self.key_path.read_bytes()
            if len(key) != 32:
                raise TemplatesUnavailable(
                    f"{self.key_path} must hold 32 bytes / la clave de caché debe tener 32 bytes"
                )
            self._aead = AESGCM(key)
            db = connect_sqlite(self.path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA secure_delete=ON")
            if db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'templates'"
            ).fetchone():
                db.execute("DROP TABLE templates")  # plaintext cache of an older version
                db.execute("VACUUM")
            db.execute(
                "CREATE TABLE IF NOT EXISTS sealed_templates (patient_id TEXT NOT NULL, "
                "finger INTEGER NOT NULL, nonce BLOB NOT NULL, ciphertext BLOB NOT NULL, "
                "event_id TEXT NOT NULL, fetched_at REAL NOT NULL, "
                "PRIMARY KEY (patient_id, finger))"
            )
            self._db = db
        return self._db

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _row(self, patient_id: str, t: EnrolledTemplate, now: float) -> tuple[object, ...]:
        assert self._aead is not None
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, t.template, _aad(patient_id, t.finger, t.event_id))
        return (patient_id, t.finger, nonce, sealed, t.event_id, now)

    def remember(self, patient_id: str, template: EnrolledTemplate) -> None:
        with self._lock:
            db = self._conn()
            db.execute(
                "INSERT OR REPLACE INTO sealed_templates VALUES (?, ?, ?, ?, ?, ?)",
                self._row(patient_id, template, time.time()),
            )

    def _replace(self, patient_id: str, templates: list[EnrolledTemplate]) -> None:
        with self._lock:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM sealed_templates WHERE patient_id = ?", (patient_id,))
            now = time.time()
            db.executemany(
                "INSERT INTO sealed_templates VALUES (?, ?, ?, ?, ?, ?)",
                [self._row(patient_id, t, now) for t in templates],
            )
            db.execute("COMMIT")

    def forget(self, patient_id: str) -> None:
        with self._lock:
            self._conn().execute("DELETE FROM sealed_templates WHERE patient_id = ?", (patient_id,))

    def cached(self, patient_id: str) -> list[EnrolledTemplate]:
        oldest = time.time() - self.settings.cache_max_age_s
        with self._lock:
            db = self._conn()
            rows = db.execute(
                "SELECT finger, nonce, ciphertext, event_id FROM sealed_templates "
                "WHERE patient_id = ? AND fetched_at >= ? ORDER BY finger",
                (patient_id, oldest),
            ).fetchall()
            out = []
            assert self._aead is not None
            from cryptography.exceptions import InvalidTag

            for finger, nonce, sealed, event_id in rows:
                try:
                    t = self._aead.decrypt(nonce, sealed, _aad(patient_id, finger, event_id))
                except InvalidTag:  # another key, or a row moved: useless, drop it
                    log.warning("cached template does not decrypt; dropped")
                    db.execute(
                        "DELETE FROM sealed_templates WHERE patient_id = ? AND finger = ?",
                        (patient_id, finger),
                    )
                    continue
                out.append(EnrolledTemplate(finger, t, hashlib.sha256(t).digest(), event_id))
        return out

    def _fetch(self, patient_id: str) -> list[EnrolledTemplate]:
        import httpx

        s = self.settings
        headers = (
            {"Authorization": f"Bearer {s.hub_token.get_secret_value()}"} if s.hub_token else {}
        )
        patient = quote(patient_id, safe="")
        url = f"{s.hub_url.rstrip('/')}/v1/patients/{patient}/fingerprint-templates"
        response = httpx.get(url, headers=headers, timeout=s.hub_timeout_s)
        if response.status_code >= 500:
            raise httpx.HTTPStatusError("hub error", request=response.request, response=response)
        if response.status_code == 403:
            self.forget(patient_id)  # the hub says: not this station's patient (any more)
            raise TemplatesRefused(f"the hub refused: {_detail(response)}")
        if response.status_code != 200:
            raise TemplatesUnavailable(
                f"the hub refused the template request ({response.status_code}): "
                f"{response.text[:200]} / el hub rechazó la solicitud de plantillas"
            )
        out = []
        for item in response.json()["templates"]:
            template = base64.b64decode(item["template"])
            digest = hashlib.sha256(template).digest()
            if digest.hex() != item["template_sha256"]:
                raise TemplatesUnavailable("template hash mismatch / hash de plantilla no coincide")
            out.append(
                EnrolledTemplate(int(item["finger_code"]), template, digest, item["event_id"])
            )
        return out

    def get(self, patient_id: str) -> tuple[list[EnrolledTemplate], str]:
        """(templates, "hub" | "cache"); TemplatesUnavailable when neither can answer."""
        if self.settings.hub_url:
            import httpx

            try:
                templates = self._fetch(patient_id)
            except (httpx.HTTPError, OSError, ValueError, KeyError) as exc:
                log.warning("hub unreachable for templates, using cache: %s", type(exc).__name__)
            else:
                self._replace(patient_id, templates)
                return templates, "hub"
        cached = self.cached(patient_id)
        if cached or not self.settings.hub_url:
            return cached, "cache"
        raise TemplatesUnavailable(
            "the hub is unreachable and no recent template of this patient is cached here / "
            "el hub no responde y no hay plantillas recientes de este paciente en la estación"
        )
