"""Documents on cases: every signed or scanned revision, by document, type and date.

A document (``document_id``) has one row per revision: each signature adds a
revision with the PDF's new hash; a scan is one revision. The body itself is
in the body store under its SHA-256 and may arrive before or after the event.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import DecodeError

from hub.storage import cursors
from hub.storage.base import EventRow, Page, SqlConnection
from protos import events_pb2

log = logging.getLogger(__name__)

_COLUMNS = (
    "document_id, sha256, case_id, patient_id, document_type, origin, media_type, size, "
    "event_id, station_id, occurred_at, title, pages, signer_subject, signer_role, "
    "signature_level, previous_sha256"
)


def create_table(conn: Any) -> None:
    conn.execute(
        """
        CREATE TABLE documents (
            document_id TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            case_id TEXT NOT NULL,
            patient_id TEXT NOT NULL,
            document_type TEXT NOT NULL,
            origin TEXT NOT NULL,            -- 'signed' or 'scanned'
            media_type TEXT NOT NULL,
            size INTEGER NOT NULL,
            event_id TEXT NOT NULL UNIQUE,
            station_id TEXT NOT NULL,
            occurred_at TEXT NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            pages INTEGER,
            signer_subject TEXT,
            signer_role TEXT,
            signature_level TEXT,
            previous_sha256 TEXT,
            PRIMARY KEY (document_id, sha256)
        )
        """
    )
    conn.execute("CREATE INDEX documents_case ON documents(case_id, occurred_at)")
    conn.execute("CREATE INDEX documents_type ON documents(document_type, occurred_at)")


@dataclass(frozen=True)
class DocumentRevision:
    document_id: str
    sha256: str
    case_id: str
    patient_id: str
    document_type: str
    origin: str
    media_type: str
    size: int
    event_id: str
    station_id: str
    occurred_at: str
    title: str
    pages: int | None
    signer_subject: str | None
    signer_role: str | None
    signature_level: str | None
    previous_sha256: str | None


def project_documents(conn: SqlConnection, rows: Sequence[EventRow]) -> None:
    values: list[tuple[object, ...]] = []
    for row in rows:
        try:
            event = events_pb2.Event.FromString(row.raw)
        except DecodeError:
            log.warning(
                "document event undecodable at projection", extra={"event_id": row.event_id}
            )
            continue
        kind = event.WhichOneof("payload")
        if kind == "signed_document":
            d = event.signed_document
            level = events_pb2.SignatureLevel.Name(d.signer.level)
            values.append(
                (
                    d.document_id or row.event_id,
                    d.body.sha256.hex(),
                    row.case_id,
                    row.patient_id,
                    d.document_type,
                    "signed",
                    d.body.media_type or "application/pdf",
                    d.body.size,
                    row.event_id,
                    row.station_id,
                    row.occurred_at,
                    d.body.filename,
                    None,
                    d.signer.subject,
                    d.signer.role,
                    level,
                    d.previous_sha256.hex() or None,
                )
            )
        elif kind == "scanned_document":
            scan = event.scanned_document
            values.append(
                (
                    scan.document_id or row.event_id,
                    scan.body.sha256.hex(),
                    row.case_id,
                    row.patient_id,
                    scan.document_type,
                    "scanned",
                    scan.body.media_type or "application/pdf",
                    scan.body.size,
                    row.event_id,
                    row.station_id,
                    row.occurred_at,
                    scan.title or scan.body.filename,
                    scan.pages,
                    None,
                    None,
                    None,
                    None,
                )
            )
    conn.executemany(
        f"INSERT OR IGNORE INTO documents ({_COLUMNS}) VALUES ({','.join('?' * 17)})", values
    )


def list_documents(
    conn: SqlConnection,
    *,
    case_id: str | None = None,
    document_type: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int = 50,
    before: str | None = None,
    origin: str | None = None,
) -> Page[DocumentRevision]:
    """Revisions newest first, filtered by case, type, origin and a date range (ISO, UTC)."""
    where, args = ["1=1"], []
    for clause, value in (
        ("case_id = ?", case_id),
        ("document_type = ?", document_type),
        ("origin = ?", origin),
        ("occurred_at >= ?", since),
        ("occurred_at < ?", until),
    ):
        if value:
            where.append(clause)
            args.append(value)
    if before:
        occurred_at, event_id = cursors.decode(before, str, str)
        where.append("(occurred_at, event_id) < (?, ?)")
        args += [occurred_at, event_id]
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM documents WHERE {' AND '.join(where)} "
        "ORDER BY occurred_at DESC, event_id DESC LIMIT ?",
        [*args, limit + 1],
    ).fetchall()
    items = [DocumentRevision(*r) for r in rows[:limit]]
    last = items[-1] if len(rows) > limit else None
    return Page(items, cursors.encode([last.occurred_at, last.event_id]) if last else None)


def revisions(conn: SqlConnection, document_id: str) -> list[DocumentRevision]:
    """A document's revisions, oldest first (the order of its signatures)."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM documents WHERE document_id = ? ORDER BY occurred_at, event_id",
        (document_id,),
    ).fetchall()
    return [DocumentRevision(*r) for r in rows]
