"""The console's case search: filters, the two flags (missing confirmation, unsigned document),
and a page of case summaries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hub.services.confirmations import cases_missing_confirmation
from hub.services.documents import cases_with_unsigned_document
from hub.storage.base import Store
from hub.storage.case_queries import CaseFilter, CaseSummary


@dataclass(frozen=True, slots=True)
class CaseListRow:
    summary: CaseSummary
    missing: bool
    unsigned: bool


def search(
    store: Store,
    f: CaseFilter,
    required_steps: Sequence[str],
    *,
    missing: bool,
    unsigned: bool,
    page: int,
    per_page: int,
) -> tuple[list[CaseListRow], int]:
    """(rows of the page, total matching) newest opened first; `missing`/`unsigned` keep only
    the flagged cases (computed for every match, then paged)."""
    q = store.case_queries()
    if missing or unsigned:
        ids = q.case_ids(f)
        keep = set(ids)
        if missing:
            keep &= cases_missing_confirmation(store, required_steps, ids)
        if unsigned:
            keep &= cases_with_unsigned_document(store, ids)
        ids = [i for i in ids if i in keep]
        total = len(ids)
        page_ids = ids[(page - 1) * per_page : page * per_page]
    else:
        total = q.count_cases(f)
        page_ids = q.case_page_ids(f, per_page, (page - 1) * per_page)
    return rows(store, required_steps, page_ids), total


def rows(store: Store, required_steps: Sequence[str], ids: Sequence[str]) -> list[CaseListRow]:
    if not ids:
        return []
    summaries = store.case_queries().summaries(ids)
    missing = cases_missing_confirmation(store, required_steps, ids)
    unsigned = cases_with_unsigned_document(store, ids)
    return [CaseListRow(summaries[i], i in missing, i in unsigned) for i in ids if i in summaries]
