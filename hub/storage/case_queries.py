"""The console's read queries over cases, events and documents (SQLite): the case search,
per-case counts, confirmations and signed documents of a set of cases, a document body's row."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from hub.storage.console_facts import fold

_IN_CHUNK = 500


@dataclass(frozen=True, slots=True)
class CaseFilter:
    """The case list's search: the patient (an affiliation number exactly, or a part of the
    patient's name, case and accents ignored: "perez" finds "José Pérez"), the unit exactly,
    opened in [opened_from, opened_before)."""

    patient_id: str = ""
    unit_id: str = ""
    opened_from: str | None = None
    opened_before: str | None = None


@dataclass(frozen=True, slots=True)
class CaseSummary:
    case_id: str
    patient_id: str
    unit_id: str
    opened_at: str
    closed_at: str | None
    events: int
    documents: int


@dataclass(frozen=True, slots=True)
class DocumentFile:
    media_type: str
    title: str
    document_id: str


class CaseQueries(Protocol):
    def case_ids(self, f: CaseFilter) -> list[str]:
        """Every matching case, newest opened first."""
        ...

    def count_cases(self, f: CaseFilter) -> int: ...

    def case_page_ids(self, f: CaseFilter, limit: int, offset: int) -> list[str]: ...

    def summaries(self, case_ids: Sequence[str]) -> dict[str, CaseSummary]: ...

    def kind_counts(self, case_id: str) -> dict[str, int]: ...

    def confirmations(self, case_id: str) -> list[bytes]:
        """Raw biometric confirmation events of a case, oldest first."""
        ...

    def confirmations_of(self, case_ids: Sequence[str]) -> list[tuple[str, bytes, str]]:
        """(case_id, raw event, the case's patient_id) of each confirmation of these cases."""
        ...

    def signed_document_rows(self, case_ids: Sequence[str]) -> list[tuple[Any, ...]]:
        """Signed revisions of these cases, oldest first: sha256, document_type, case_id,
        patient_id, signer_subject, signer_role, signature_level, occurred_at, event_id,
        previous_sha256, document_id."""
        ...

    def document_file(self, case_id: str, sha256: str) -> DocumentFile | None: ...


class _Connections(Protocol):
    def _conn(self) -> Any: ...
    def _write(self) -> AbstractContextManager[Any]: ...


def _where(f: CaseFilter) -> tuple[str, list[Any]]:
    where, args = ["1 = 1"], []
    if f.patient_id:
        where.append(
            "(patient_id = ? OR case_id IN "
            "(SELECT case_id FROM case_patients WHERE name_folded LIKE ? ESCAPE '!'))"
        )
        part = fold(f.patient_id).replace("!", "!!").replace("%", "!%").replace("_", "!_")
        args += [f.patient_id, f"%{part}%"]
    if f.unit_id:
        where.append("unit_id = ?")
        args.append(f.unit_id)
    if f.opened_from is not None:
        where.append("opened_at >= ?")
        args.append(f.opened_from)
    if f.opened_before is not None:
        where.append("opened_at < ?")
        args.append(f.opened_before)
    return f"FROM cases WHERE {' AND '.join(where)}", args


def _chunks(ids: Sequence[str]) -> list[list[str]]:
    ids = list(dict.fromkeys(ids))
    return [ids[i : i + _IN_CHUNK] for i in range(0, len(ids), _IN_CHUNK)]


class SQLCaseQueries:
    """`CaseQueries` over a store's connections; `mark` is the driver's placeholder."""

    def __init__(self, store: _Connections, mark: str = "?") -> None:
        self._store = store
        self._mark = mark

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self._mark != "?":
            sql = sql.replace("?", self._mark)
        return [tuple(r) for r in self._store._conn().execute(sql, list(args)).fetchall()]

    def _marks(self, n: int) -> str:
        return ",".join("?" * n)

    def case_ids(self, f: CaseFilter) -> list[str]:
        sql, args = _where(f)
        return [r[0] for r in self._rows(f"SELECT case_id {sql} ORDER BY opened_at DESC", args)]

    def count_cases(self, f: CaseFilter) -> int:
        sql, args = _where(f)
        return int(self._rows(f"SELECT count(*) {sql}", args)[0][0])

    def case_page_ids(self, f: CaseFilter, limit: int, offset: int) -> list[str]:
        sql, args = _where(f)
        return [
            r[0]
            for r in self._rows(
                f"SELECT case_id {sql} ORDER BY opened_at DESC, case_id DESC LIMIT ? OFFSET ?",
                [*args, limit, offset],
            )
        ]

    def summaries(self, case_ids: Sequence[str]) -> dict[str, CaseSummary]:
        out: dict[str, CaseSummary] = {}
        for chunk in _chunks(case_ids):
            m = self._marks(len(chunk))
            cases = self._rows(
                "SELECT case_id, patient_id, unit_id, opened_at, closed_at FROM cases "
                f"WHERE case_id IN ({m})",
                chunk,
            )
            events = dict(
                self._rows(
                    f"SELECT case_id, count(*) FROM events WHERE case_id IN ({m}) GROUP BY case_id",
                    chunk,
                )
            )
            docs = dict(
                self._rows(
                    "SELECT case_id, count(DISTINCT document_id) FROM documents "
                    f"WHERE case_id IN ({m}) GROUP BY case_id",
                    chunk,
                )
            )
            for c in cases:
                out[c[0]] = CaseSummary(  # type: ignore[misc]  # mypy reads *c as filling every field
                    *c, events=int(events.get(c[0], 0)), documents=int(docs.get(c[0], 0))
                )
        return out

    def kind_counts(self, case_id: str) -> dict[str, int]:
        rows = self._rows(
            "SELECT kind, count(*) FROM events WHERE case_id = ? GROUP BY kind", [case_id]
        )
        return {k: int(n) for k, n in rows}

    def confirmations(self, case_id: str) -> list[bytes]:
        rows = self._rows(
            "SELECT raw FROM events WHERE case_id = ? AND kind = 'biometric_confirmation' "
            "ORDER BY occurred_at, event_id",
            [case_id],
        )
        return [bytes(r[0]) for r in rows]

    def confirmations_of(self, case_ids: Sequence[str]) -> list[tuple[str, bytes, str]]:
        out: list[tuple[str, bytes, str]] = []
        for chunk in _chunks(case_ids):
            out += [
                (r[0], bytes(r[1]), r[2])
                for r in self._rows(
                    "SELECT e.case_id, e.raw, c.patient_id FROM events e "
                    "JOIN cases c ON c.case_id = e.case_id "
                    "WHERE e.kind = 'biometric_confirmation' "
                    f"AND e.case_id IN ({self._marks(len(chunk))}) "
                    "ORDER BY e.occurred_at, e.event_id",
                    chunk,
                )
            ]
        return out

    def signed_document_rows(self, case_ids: Sequence[str]) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []
        for chunk in _chunks(case_ids):
            out += self._rows(
                "SELECT sha256, document_type, case_id, patient_id, signer_subject, "
                "signer_role, signature_level, occurred_at, event_id, previous_sha256, "
                "document_id FROM documents "
                f"WHERE origin = 'signed' AND case_id IN ({self._marks(len(chunk))}) "
                "ORDER BY occurred_at, event_id",
                chunk,
            )
        out.sort(key=lambda r: (r[7], r[8]))
        return out

    def document_file(self, case_id: str, sha256: str) -> DocumentFile | None:
        rows = self._rows(
            "SELECT media_type, title, document_id FROM documents WHERE case_id = ? AND sha256 = ?",
            [case_id, sha256],
        )
        return DocumentFile(*rows[0]) if rows else None
