"""Signature verdicts of document revisions, and each document's signing workflow.

One verdict per PAdES-signed revision (by the PDF's SHA-256: the verdict is a
function of the bytes), and one check per SIMPLE signature (by event id: it
depends on the event's statement, and the same bytes may be simple-signed
twice), both joined to the ``documents`` read model. A revision without a
verdict is "pending"; a document is complete only when every role its type
requires has signed with a valid signature, in order. A simple signature is
``valid_simple``, never ``valid``.

A PAdES verdict is one word (hub/signatures/validation.py): ``valid``
(revocation checked), ``revoked``, ``expired``, ``revocation_unknown``,
``untrusted``, or ``broken`` (shown as ``invalid``). Only ``valid`` and
``valid_simple`` revisions count as signed; ``revocation_unknown`` ones are
validated again (``stale_unknown``) until the CA answers. Migration 202 adds
what the station said of revocation at signing (``station_revocation``:
``pending`` when it signed without an answer) and drops the verdicts made
before revocation was checked, so they are validated again.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from protos.document_types import DOCUMENT_TYPES


def create_tables(conn: Any) -> None:
    conn.execute(
        """
        CREATE TABLE signature_verdicts (
            sha256 TEXT PRIMARY KEY,
            document_id TEXT NOT NULL,
            verdict TEXT NOT NULL,          -- a word of validation.SEVERITY ('valid', ...)
            code TEXT NOT NULL,
            reason TEXT NOT NULL,
            checked_at TEXT NOT NULL,
            duration_ms REAL NOT NULL,
            signatures_json TEXT NOT NULL
        )
        """
    )
    conn.execute("CREATE INDEX signature_verdicts_document ON signature_verdicts(document_id)")


def create_simple_table(conn: Any) -> None:
    conn.execute(
        """
        CREATE TABLE simple_signature_checks (
            event_id TEXT PRIMARY KEY,
            document_id TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            verdict TEXT NOT NULL,          -- 'valid' or 'invalid' (shown as valid_simple)
            code TEXT NOT NULL,
            reason TEXT NOT NULL,
            checked_at TEXT NOT NULL,
            duration_ms REAL NOT NULL,
            signatures_json TEXT NOT NULL
        )
        """
    )
    conn.execute(
        "CREATE INDEX simple_signature_checks_document ON simple_signature_checks(document_id)"
    )


# What a revision's validation shows, everywhere (documents lists, workflow).
VALID, VALID_SIMPLE, INVALID, PENDING, NOT_SIGNED = (
    "valid", "valid_simple", "invalid", "pending", "not_signed",
)  # fmt: skip


REVOKED, EXPIRED, REVOCATION_UNKNOWN, UNTRUSTED = (
    "revoked", "expired", "revocation_unknown", "untrusted",
)  # fmt: skip
_SHOWN_AS_IS = {VALID, REVOKED, EXPIRED, REVOCATION_UNKNOWN, UNTRUSTED}
# Revisions that must not be relied on (the document is "invalid" until re-signed).
BLOCKING = {INVALID, REVOKED, EXPIRED, UNTRUSTED}
# Worst first: what a document shows when its revisions differ.
SHOWN_ORDER = (INVALID, REVOKED, EXPIRED, UNTRUSTED, REVOCATION_UNKNOWN, PENDING, VALID,
               VALID_SIMPLE, NOT_SIGNED)  # fmt: skip


def shown_validation(origin: str, level: str | None, verdict: StoredVerdict | None) -> str:
    """valid (advanced, revocation checked), valid_simple, revoked, expired,
    revocation_unknown, untrusted, invalid (broken), pending, or not_signed (a scan)."""
    if origin != "signed":
        return NOT_SIGNED
    if verdict is None:
        return PENDING
    if level == "SIMPLE":
        return VALID_SIMPLE if verdict.verdict == VALID else INVALID
    return verdict.verdict if verdict.verdict in _SHOWN_AS_IS else INVALID


def worst(validations: list[str]) -> str:
    """The validation a document shows for its revisions: the worst of them."""
    return min(validations, key=SHOWN_ORDER.index) if validations else NOT_SIGNED


@dataclass(frozen=True)
class PendingSimple:
    event_id: str
    document_id: str
    sha256: str
    station_id: str
    raw: bytes


@dataclass(frozen=True)
class PendingRevision:
    document_id: str
    sha256: str
    event_id: str
    signature_level: str | None
    raw: bytes | None = None  # the SignedDocument event (what the station said at signing)


@dataclass(frozen=True)
class StoredVerdict:
    sha256: str
    document_id: str
    verdict: str
    code: str
    reason: str
    checked_at: str
    duration_ms: float
    signatures: list[dict[str, Any]]
    station_revocation: str = ""  # "pending": the station signed without a CA answer


class SignatureStore(Protocol):
    def pending(self, limit: int) -> list[PendingRevision]: ...

    def save(self, verdict: StoredVerdict) -> None: ...

    def stale_unknown(self, limit: int, checked_before: str) -> list[PendingRevision]: ...

    def verdicts(self, shas: list[str]) -> dict[str, StoredVerdict]: ...

    def workflow(self, document_id: str) -> dict[str, Any] | None: ...

    def pending_simple(self, limit: int) -> list[PendingSimple]: ...

    def save_simple(self, event_id: str, verdict: StoredVerdict) -> None: ...

    def station_key(self, station_id: str) -> str | None: ...

    def revision_verdicts(
        self, revisions: list[tuple[str, str, str | None]]
    ) -> dict[str, StoredVerdict]: ...


class SQLiteSignatures:
    """The verdicts in the hub's SQLite file (tables made by migration 200)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=10000")
            self._local.conn = conn
        return conn

    def pending(self, limit: int) -> list[PendingRevision]:
        rows = (
            self._conn()
            .execute(
                "SELECT d.document_id, d.sha256, d.event_id, d.signature_level, e.raw "
                "FROM documents d LEFT JOIN signature_verdicts v ON v.sha256 = d.sha256 "
                "LEFT JOIN events e ON e.event_id = d.event_id "
                "WHERE d.origin = 'signed' AND v.sha256 IS NULL "
                "AND COALESCE(d.signature_level, '') != 'SIMPLE' ORDER BY d.occurred_at LIMIT ?",
                (limit,),
            )
            .fetchall()
        )
        return [PendingRevision(*r) for r in rows]

    def stale_unknown(self, limit: int, checked_before: str) -> list[PendingRevision]:
        """Revisions whose verdict is revocation_unknown, last checked before the given time."""
        rows = (
            self._conn()
            .execute(
                "SELECT d.document_id, d.sha256, d.event_id, d.signature_level, e.raw "
                "FROM signature_verdicts v JOIN documents d ON d.sha256 = v.sha256 "
                "LEFT JOIN events e ON e.event_id = d.event_id "
                "WHERE v.verdict = 'revocation_unknown' AND v.checked_at < ? "
                "GROUP BY v.sha256 ORDER BY v.checked_at LIMIT ?",
                (checked_before, limit),
            )
            .fetchall()
        )
        return [PendingRevision(*r) for r in rows]

    def save(self, verdict: StoredVerdict) -> None:
        self._conn().execute(
            "INSERT OR REPLACE INTO signature_verdicts (sha256, document_id, verdict, code, "
            "reason, checked_at, duration_ms, signatures_json, station_revocation) "
            "VALUES (?,?,?,?,?,?,?,?,?)",
            (
                verdict.sha256,
                verdict.document_id,
                verdict.verdict,
                verdict.code,
                verdict.reason,
                verdict.checked_at,
                verdict.duration_ms,
                json.dumps(verdict.signatures),
                verdict.station_revocation,
            ),
        )

    def pending_simple(self, limit: int) -> list[PendingSimple]:
        rows = (
            self._conn()
            .execute(
                "SELECT d.event_id, d.document_id, d.sha256, d.station_id, e.raw FROM documents d "
                "JOIN events e ON e.event_id = d.event_id "
                "LEFT JOIN simple_signature_checks c ON c.event_id = d.event_id "
                "WHERE d.origin = 'signed' AND d.signature_level = 'SIMPLE' "
                "AND c.event_id IS NULL ORDER BY d.occurred_at LIMIT ?",
                (limit,),
            )
            .fetchall()
        )
        return [PendingSimple(*r) for r in rows]

    def save_simple(self, event_id: str, verdict: StoredVerdict) -> None:
        self._conn().execute(
            "INSERT OR REPLACE INTO simple_signature_checks (event_id, document_id, sha256, "
            "verdict, code, reason, checked_at, duration_ms, signatures_json) "
            "VALUES (?,?,?,?,?,?,?,?,?)",
            (
                event_id,
                verdict.document_id,
                verdict.sha256,
                verdict.verdict,
                verdict.code,
                verdict.reason,
                verdict.checked_at,
                verdict.duration_ms,
                json.dumps(verdict.signatures),
            ),
        )

    def station_key(self, station_id: str) -> str | None:
        row = (
            self._conn()
            .execute("SELECT public_key_pem FROM station_keys WHERE station_id = ?", (station_id,))
            .fetchone()
        )
        return str(row[0]) if row and row[0] else None

    def simple_verdicts(self, event_ids: list[str]) -> dict[str, StoredVerdict]:
        if not event_ids:
            return {}
        rows = (
            self._conn()
            .execute(
                "SELECT event_id, sha256, document_id, verdict, code, reason, checked_at, "
                "duration_ms, signatures_json FROM simple_signature_checks "
                f"WHERE event_id IN ({','.join('?' * len(event_ids))})",
                event_ids,
            )
            .fetchall()
        )
        return {r[0]: StoredVerdict(*r[1:8], json.loads(r[8])) for r in rows}  # type: ignore[call-arg]  # mypy reads *row as filling every field

    def revision_verdicts(
        self, revisions: list[tuple[str, str, str | None]]
    ) -> dict[str, StoredVerdict]:
        """Verdicts of (event_id, sha256, signature_level) revisions, by event id: SIMPLE ones
        from their own check, the others from the PDF's verdict."""
        simple = [e for e, _s, level in revisions if level == "SIMPLE"]
        advanced = {e: s for e, s, level in revisions if level != "SIMPLE"}
        out = self.simple_verdicts(simple)
        by_sha = self.verdicts(list(set(advanced.values())))
        for event_id, sha in advanced.items():
            if sha in by_sha:
                out[event_id] = by_sha[sha]
        return out

    def verdicts(self, shas: list[str]) -> dict[str, StoredVerdict]:
        if not shas:
            return {}
        rows = (
            self._conn()
            .execute(
                "SELECT sha256, document_id, verdict, code, reason, checked_at, duration_ms, "
                "signatures_json, station_revocation FROM signature_verdicts "
                f"WHERE sha256 IN ({','.join('?' * len(shas))})",
                shas,
            )
            .fetchall()
        )
        return {r[0]: StoredVerdict(*r[:7], json.loads(r[7]), r[8]) for r in rows}  # type: ignore[call-arg]  # mypy reads *row as filling every field

    def workflow(self, document_id: str) -> dict[str, Any] | None:
        rows = (
            self._conn()
            .execute(
                "SELECT sha256, document_type, case_id, patient_id, signer_subject, signer_role, "
                "signature_level, occurred_at, event_id, previous_sha256 FROM documents "
                "WHERE document_id = ? AND origin = 'signed' ORDER BY occurred_at, event_id",
                (document_id,),
            )
            .fetchall()
        )
        if not rows:
            return None
        verdicts = self.revision_verdicts([(r[8], r[0], r[6]) for r in rows])
        return build_workflow(document_id, rows, verdicts)


def build_workflow(
    document_id: str, rows: list[tuple[Any, ...]], verdicts: dict[str, StoredVerdict]
) -> dict[str, Any]:
    """The workflow from a document's signed revisions; ``verdicts`` by event id."""
    document_type = rows[0][1]
    dtype = DOCUMENT_TYPES.get(document_type)
    required = list(dtype.signers) if dtype else []
    revisions = []
    signed_roles: list[str] = []
    any_invalid = any_pending = any_unknown = False
    for sha, _t, _c, _p, subject, role, level, occurred_at, event_id, previous in rows:
        v = verdicts.get(event_id)
        validation = shown_validation("signed", level, v)
        revisions.append(
            {
                "sha256": sha,
                "event_id": event_id,
                "role": role,
                "signer_subject": subject,
                "signature_level": level,
                "signed_at": occurred_at,
                "previous_sha256": previous,
                "validation": validation,
                "validation_code": v.code if v else None,
                "validation_reason": v.reason if v else None,
                "station_revocation": v.station_revocation if v else None,
                "signatures": v.signatures if v else [],
            }
        )
        if validation in BLOCKING:
            any_invalid = True
        elif validation == PENDING:
            any_pending = True
        elif validation == REVOCATION_UNKNOWN:
            any_unknown = True
        elif validation in (VALID, VALID_SIMPLE) and role and role not in signed_roles:
            signed_roles.append(role)  # only a valid signature counts as signed
    awaiting = [r for r in required if r not in signed_roles]
    in_order = signed_roles == required[: len(signed_roles)]
    if any_invalid:
        state = "invalid"
    elif any_unknown:
        state = "revocation_unknown"  # validated again until the CA answers
    elif any_pending:
        state = "pending_validation"
    elif not in_order:
        state = "out_of_order"
    elif awaiting:
        state = "awaiting"
    else:
        state = "complete"
    latest = revisions[-1]
    return {
        "document_id": document_id,
        "document_type": document_type,
        "title": dtype.title if dtype else document_type,
        "case_id": rows[0][2],
        "patient_id": rows[0][3],
        "required_signers": required,
        "signed_by": signed_roles,
        "awaiting": awaiting,
        "next_signer": awaiting[0] if awaiting and state != "invalid" else None,
        "state": state,
        "latest_sha256": latest["sha256"],
        "latest_validation": latest["validation"],
        "validation": worst([r["validation"] for r in revisions]),
        "revisions": revisions,
    }


def m200_signature_verdicts(db: Any) -> None:
    create_tables(db.conn)


def m201_simple_signature_checks(db: Any) -> None:
    create_simple_table(db.conn)


def m202_revocation_verdicts(db: Any) -> None:
    """What the station said of revocation; verdicts made before revocation was checked go."""
    db.conn.execute(
        "ALTER TABLE signature_verdicts ADD COLUMN station_revocation TEXT NOT NULL DEFAULT ''"
    )
    db.conn.execute(
        "CREATE INDEX signature_verdicts_recheck ON signature_verdicts(verdict, checked_at)"
    )
    db.conn.execute("DELETE FROM signature_verdicts")  # validated again by the worker
