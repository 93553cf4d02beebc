"""Scanned documents' details (resolution, mode, source, scanner) beside the documents read model.

The ``documents`` table (hub/storage/documents.py) lists every scanned
revision by case, type and date; ``scan_details`` adds what only a scan has,
one row per ScannedDocument event, projected in the same ingest transaction.
Migration 403 adds ``expected_pages``: what the station's request said the scan
would yield (0: not said), so the case can say "3 of 5 expected pages".
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from google.protobuf.message import DecodeError

from hub.storage import cursors
from hub.storage.base import EventRow, Page, SqlConnection
from protos import events_pb2
from protos.scan_types import page_count_note

log = logging.getLogger(__name__)


def m400_scan_details(db: Any) -> None:
    db.conn.execute(
        """
        CREATE TABLE scan_details (
            event_id TEXT PRIMARY KEY,
            document_id TEXT NOT NULL,
            resolution_dpi INTEGER NOT NULL,
            mode TEXT NOT NULL,
            source TEXT NOT NULL,
            blank_pages_dropped INTEGER NOT NULL,
            scanner_model TEXT NOT NULL,
            scanner_vendor TEXT NOT NULL,
            scanner_serial TEXT NOT NULL,
            scanner_driver TEXT NOT NULL
        )
        """
    )
    # Scans that arrived before this migration get their details from the stored events.
    rows = db.conn.execute(
        "SELECT event_id, raw FROM events WHERE kind = 'scanned_document'"
    ).fetchall()
    project_scans(db.conn, [_Row(r[0], r[1]) for r in rows], with_expected=False)


def m403_scan_expected_pages(db: Any) -> None:
    db.conn.execute("ALTER TABLE scan_details ADD COLUMN expected_pages INTEGER NOT NULL DEFAULT 0")


@dataclass(frozen=True)
class _Row:
    event_id: str
    raw: bytes


def project_scans(
    conn: SqlConnection,
    rows: Sequence[EventRow] | Sequence[_Row],
    with_expected: bool = True,  # False only in migration 400, before 403 added the column
) -> None:
    values: list[tuple[object, ...]] = []
    for row in rows:
        try:
            event = events_pb2.Event.FromString(row.raw)
        except DecodeError:
            log.warning("scan event undecodable at projection", extra={"event_id": row.event_id})
            continue
        if event.WhichOneof("payload") != "scanned_document":
            continue
        d = event.scanned_document
        values.append(
            (
                row.event_id,
                d.document_id or row.event_id,
                d.resolution_dpi,
                d.mode,
                d.source,
                d.blank_pages_dropped,
                d.scanner.model,
                d.scanner.vendor,
                d.scanner.serial,
                d.scanner.driver,
                d.expected_pages,
            )
        )
    columns = (
        "event_id, document_id, resolution_dpi, mode, source, blank_pages_dropped, "
        "scanner_model, scanner_vendor, scanner_serial, scanner_driver"
    )
    if with_expected:
        columns += ", expected_pages"
    else:
        values = [v[:-1] for v in values]
    marks = ",".join("?" * (11 if with_expected else 10))
    conn.executemany(f"INSERT OR IGNORE INTO scan_details ({columns}) VALUES ({marks})", values)


@dataclass(frozen=True)
class ScanRow:
    document_id: str
    sha256: str
    case_id: str
    patient_id: str
    document_type: str
    media_type: str
    size: int
    event_id: str
    station_id: str
    occurred_at: str
    title: str
    pages: int | None
    resolution_dpi: int
    mode: str
    source: str
    blank_pages_dropped: int
    scanner_model: str
    scanner_vendor: str
    scanner_serial: str
    scanner_driver: str
    expected_pages: int


_SELECT = (
    "SELECT d.document_id, d.sha256, d.case_id, d.patient_id, d.document_type, d.media_type, "
    "d.size, d.event_id, d.station_id, d.occurred_at, d.title, d.pages, s.resolution_dpi, "
    "s.mode, s.source, s.blank_pages_dropped, s.scanner_model, s.scanner_vendor, "
    "s.scanner_serial, s.scanner_driver, s.expected_pages FROM documents d JOIN scan_details s "
    "ON s.event_id = d.event_id"
)


@dataclass(frozen=True)
class PageCount:
    """What a scan yielded against what its request said."""

    pages: int  # in the document
    blank_pages_dropped: int
    expected_pages: int  # 0: not said

    @property
    def scanned(self) -> int:
        return self.pages + self.blank_pages_dropped

    @property
    def differs(self) -> bool:
        return bool(page_count_note(self.scanned, self.expected_pages))

    def note(self) -> str:
        return page_count_note(self.scanned, self.expected_pages, self.blank_pages_dropped)


class ScanStore(Protocol):
    def list_scans(
        self,
        *,
        case_id: str | None = None,
        document_type: str | None = None,
        station_id: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 50,
        before: str | None = None,
    ) -> Page[ScanRow]: ...

    def page_counts(self, event_ids: Sequence[str]) -> dict[str, PageCount]: ...


class SQLiteScans:
    """Scans in the hub's SQLite file (table made by migration 400)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def _conn(self) -> SqlConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=10000")
            self._local.conn = conn
        return conn

    def list_scans(
        self,
        *,
        case_id: str | None = None,
        document_type: str | None = None,
        station_id: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 50,
        before: str | None = None,
    ) -> Page[ScanRow]:
        """Scanned documents newest first, by case, type, station and date range (ISO, UTC)."""
        where: list[str] = ["d.origin = 'scanned'"]
        args: list[Any] = []
        for clause, value in (
            ("d.case_id = ?", case_id),
            ("d.document_type = ?", document_type),
            ("d.station_id = ?", station_id),
            ("d.occurred_at >= ?", since),
            ("d.occurred_at < ?", until),
        ):
            if value:
                where.append(clause)
                args.append(value)
        if before:
            occurred_at, event_id = cursors.decode(before, str, str)
            where.append("(d.occurred_at, d.event_id) < (?, ?)")
            args += [occurred_at, event_id]
        rows = (
            self._conn()
            .execute(
                f"{_SELECT} WHERE {' AND '.join(where)} "
                "ORDER BY d.occurred_at DESC, d.event_id DESC LIMIT ?",
                [*args, limit + 1],
            )
            .fetchall()
        )
        items = [ScanRow(*r) for r in rows[:limit]]
        last = items[-1] if len(rows) > limit else None
        return Page(items, cursors.encode([last.occurred_at, last.event_id]) if last else None)

    def page_counts(self, event_ids: Sequence[str]) -> dict[str, PageCount]:
        """The page count of each scan event named (others are left out)."""
        out: dict[str, PageCount] = {}
        ids = list(event_ids)
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            rows = self._conn().execute(
                "SELECT s.event_id, d.pages, s.blank_pages_dropped, s.expected_pages "
                "FROM scan_details s JOIN documents d ON d.event_id = s.event_id "
                f"WHERE s.event_id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            for event_id, pages, dropped, expected in rows:
                out[event_id] = PageCount(pages or 0, dropped, expected)
        return out
