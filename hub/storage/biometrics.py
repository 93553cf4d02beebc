"""Enrolled fingerprint templates encrypted at rest (AES-256-GCM), and the ingest hook filling them.

A ``BiometricEnrollment`` event arrives with its template in clear (over the
station's TLS link). Before the event is committed, ``VaultingStore`` moves
the template into ``fingerprint_templates`` encrypted with the hub's
fingerprint key (nonce per row; the event_id, patient and finger are the
associated data, so a row can't be swapped onto another patient) and stores
the event with the template field emptied: its ``template_sha256`` remains as
evidence. The key comes from ``HubSettings.fingerprint_key`` (base64 of 32
bytes); without one, a key is made on first start in ``data_dir``
(``fingerprint-vault.key``, mode 0600) and a warning is logged.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import logging
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import sqlite_utils
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub.storage.base import EventRow, QuarantineRow, StationSeen, Store
from protos import events_pb2

log = logging.getLogger(__name__)


def m100_fingerprint_templates(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE fingerprint_templates (
            event_id TEXT PRIMARY KEY,
            patient_id TEXT NOT NULL,
            finger INTEGER NOT NULL,
            template_format TEXT NOT NULL,
            template_sha256 TEXT NOT NULL,
            nonce BLOB NOT NULL,
            ciphertext BLOB NOT NULL,
            station_id TEXT NOT NULL,
            enrolled_at TEXT NOT NULL
        )
        """
    )
    db.execute(
        "CREATE INDEX fingerprint_templates_patient ON fingerprint_templates(patient_id, finger)"
    )


@dataclass(frozen=True, repr=False)
class StoredTemplate:
    event_id: str
    patient_id: str
    finger: int
    template_format: str
    template_sha256: str
    template: bytes
    station_id: str
    enrolled_at: str

    def __repr__(self) -> str:
        return f"StoredTemplate(event_id={self.event_id}, finger={self.finger})"


class TemplateVault(Protocol):
    def put(self, event: events_pb2.Event, enrolled_at: str) -> None: ...

    def latest(self, patient_id: str) -> list[StoredTemplate]: ...


def load_key(configured: str | None, data_dir: Path) -> bytes:
    if configured:
        key = base64.b64decode(configured)
        if len(key) != 32:
            raise ValueError("fingerprint_key must be base64 of 32 bytes / clave de 32 bytes")
        return key
    path = data_dir / "fingerprint-vault.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(base64.b64encode(AESGCM.generate_key(bit_length=256)))
        log.warning(
            "no fingerprint_key set: made %s; back it up, templates are unreadable without it",
            path,
        )
    return base64.b64decode(path.read_bytes())


def _aad(event_id: str, patient_id: str, finger: int) -> bytes:
    return f"{event_id}\x00{patient_id}\x00{finger}".encode()


class SQLiteTemplateVault:
    def __init__(self, path: Path, key: bytes) -> None:
        self.path = path
        self._aead = AESGCM(key)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("PRAGMA busy_timeout=10000")
        return conn

    def put(self, event: events_pb2.Event, enrolled_at: str) -> None:
        e = event.biometric_enrollment
        nonce = os.urandom(12)
        ct = self._aead.encrypt(nonce, e.template, _aad(event.event_id, event.patient_id, e.finger))
        conn = self._connect()
        try:
            conn.execute(
                "INSERT OR IGNORE INTO fingerprint_templates VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    event.event_id,
                    event.patient_id,
                    e.finger,
                    e.template_format,
                    hashlib.sha256(e.template).hexdigest(),
                    nonce,
                    ct,
                    event.station_id,
                    enrolled_at,
                ),
            )
        finally:
            conn.close()

    def latest(self, patient_id: str) -> list[StoredTemplate]:
        """The newest enrollment of each finger of the patient, decrypted."""
        conn = self._connect()
        try:
            rows = conn.execute(
                "SELECT event_id, patient_id, finger, template_format, template_sha256, nonce, "
                "ciphertext, station_id, enrolled_at FROM fingerprint_templates t "
                "WHERE patient_id = ? AND enrolled_at = (SELECT MAX(enrolled_at) FROM "
                "fingerprint_templates u "
                "WHERE u.patient_id = t.patient_id AND u.finger = t.finger) "
                "ORDER BY finger",
                (patient_id,),
            ).fetchall()
        finally:
            conn.close()
        out = []
        for ev, pid, finger, fmt, digest, nonce, ct, station, at in rows:
            template = self._aead.decrypt(nonce, ct, _aad(ev, pid, finger))
            out.append(StoredTemplate(ev, pid, finger, fmt, digest, template, station, at))
        return out


class VaultingStore:
    """A Store that vaults enrollment templates before committing their events (proxy)."""

    def __init__(self, inner: Store, vault: TemplateVault) -> None:
        self._inner = inner
        self.vault = vault

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def commit_ingest(
        self,
        events: Sequence[EventRow],
        quarantine: Sequence[QuarantineRow],
        seen: Sequence[StationSeen],
    ) -> list[bool]:
        rows = [self._vault(row) if row.kind == "biometric_enrollment" else row for row in events]
        return self._inner.commit_ingest(rows, quarantine, seen)

    def _vault(self, row: EventRow) -> EventRow:
        event = events_pb2.Event.FromString(row.raw)
        if not event.biometric_enrollment.template:
            return row
        self.vault.put(event, row.occurred_at)  # idempotent by event_id (a re-send)
        event.biometric_enrollment.ClearField("template")
        return dataclasses.replace(row, raw=event.SerializeToString())
