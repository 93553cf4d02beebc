"""A patient's enrolled templates: fetched from the hub, cached at the station for offline use.

The hub is asked first (``GET /v1/patients/{id}/fingerprint-templates`` with
the station's Bearer token); its answer replaces the cache rows of the
patient. When the hub cannot be reached (network, timeout, 5xx), the cache
answers if its rows are younger than ``cache_max_age_s``. A template enrolled
at this station goes into the cache at once, so verification works right
after enrollment even offline. The cache is SQLite in the data dir, mode 0600.
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
from urllib.parse import quote

import httpx

from edge_agent.biometrics.errors import TemplatesUnavailable
from edge_agent.biometrics.settings import FingerprintSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True, repr=False)
class EnrolledTemplate:
    finger: int
    template: bytes
    template_sha256: bytes
    event_id: str

    def __repr__(self) -> str:
        return f"EnrolledTemplate(finger={self.finger}, event_id={self.event_id})"


class TemplateSource:
    def __init__(self, settings: FingerprintSettings, path: Path) -> None:
        self.settings = settings
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.execute(
                "CREATE TABLE IF NOT EXISTS templates (patient_id TEXT NOT NULL, "
                "finger INTEGER NOT NULL, template BLOB NOT NULL, event_id TEXT NOT NULL, "
                "fetched_at REAL NOT NULL, PRIMARY KEY (patient_id, finger))"
            )
            self._db = db
        return self._db

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def remember(self, patient_id: str, template: EnrolledTemplate) -> None:
        with self._lock:
            self._conn().execute(
                "INSERT OR REPLACE INTO templates VALUES (?, ?, ?, ?, ?)",
                (patient_id, template.finger, template.template, template.event_id, time.time()),
            )

    def _replace(self, patient_id: str, templates: list[EnrolledTemplate]) -> None:
        with self._lock:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM templates WHERE patient_id = ?", (patient_id,))
            now = time.time()
            db.executemany(
                "INSERT INTO templates VALUES (?, ?, ?, ?, ?)",
                [(patient_id, t.finger, t.template, t.event_id, now) for t in templates],
            )
            db.execute("COMMIT")

    def cached(self, patient_id: str) -> list[EnrolledTemplate]:
        oldest = time.time() - self.settings.cache_max_age_s
        with self._lock:
            rows = (
                self._conn()
                .execute(
                    "SELECT finger, template, event_id FROM templates "
                    "WHERE patient_id = ? AND fetched_at >= ? ORDER BY finger",
                    (patient_id, oldest),
                )
                .fetchall()
            )
        return [EnrolledTemplate(f, t, hashlib.sha256(t).digest(), e) for f, t, e in rows]

    def _fetch(self, patient_id: str) -> list[EnrolledTemplate]:
        s = self.settings
        headers = (
            {"Authorization": f"Bearer {s.hub_token.get_secret_value()}"} if s.hub_token else {}
        )
        patient = quote(patient_id, safe="")
        url = f"{s.hub_url.rstrip('/')}/v1/patients/{patient}/fingerprint-templates"
        response = httpx.get(url, headers=headers, timeout=s.hub_timeout_s)
        if response.status_code >= 500:
            raise httpx.HTTPStatusError("hub error", request=response.request, response=response)
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
