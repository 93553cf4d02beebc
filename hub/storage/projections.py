"""Read models kept in step with ingest: each projection sees the new events of a commit.

A projection runs inside the ingest transaction, so a read model (documents,
readings, confirmations) is never ahead of or behind the events it is made
from. It must be fast and must not raise on a payload it can't use: it logs
and skips. Register one per payload kind in ``PROJECTIONS``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from hub.storage.base import EventRow, SqlConnection

log = logging.getLogger(__name__)

Projection = Callable[[SqlConnection, Sequence[EventRow]], None]


def _documents(conn: SqlConnection, rows: Sequence[EventRow]) -> None:
    from hub.storage.documents import project_documents

    project_documents(conn, rows)


def _scans(conn: SqlConnection, rows: Sequence[EventRow]) -> None:
    from hub.storage.scans import project_scans

    project_scans(conn, rows)


def _vitals(conn: SqlConnection, rows: Sequence[EventRow]) -> None:
    from hub.storage.readings import project_vitals

    project_vitals(conn, rows)


def _dispensing(conn: SqlConnection, rows: Sequence[EventRow]) -> None:
    from hub.storage.dispensing import project_dispensing

    project_dispensing(conn, rows)


PROJECTIONS: dict[str, list[Projection]] = {
    "vital_signs": [_vitals],
    "signed_document": [_documents],
    "scanned_document": [_documents, _scans],
    "medication_dispensed": [_dispensing],
}


def apply(conn: SqlConnection, new_rows: Sequence[EventRow]) -> None:
    by_kind: dict[str, list[EventRow]] = {}
    for row in new_rows:
        if row.kind in PROJECTIONS:
            by_kind.setdefault(row.kind, []).append(row)
    for kind, rows in by_kind.items():
        for projection in PROJECTIONS[kind]:
            projection(conn, rows)
