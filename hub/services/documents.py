"""Documents of a case with their signature verdicts and signing workflow, and the console's
"unsigned document" rule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, Protocol

from hub.storage.base import Store
from hub.storage.signatures import BLOCKING, build_workflow, shown_validation, worst


class Bodies(Protocol):
    def info(self, sha256: str) -> object | None: ...


def is_unsigned(workflow: dict[str, Any] | None) -> bool:
    """THE rule: a signed document still awaiting a signer, out of order, pending or invalid."""
    return workflow is not None and workflow["state"] != "complete"


def case_documents(store: Store, bodies: Bodies, case_id: str) -> list[dict[str, Any]]:
    """Each document of the case (latest revision first) with validation and workflow."""
    revisions = store.list_documents(case_id=case_id, limit=10_000).items
    signed = [(r.event_id, r.sha256, r.signature_level) for r in revisions if r.origin == "signed"]
    sigs = store.signatures()
    verdicts = sigs.revision_verdicts(signed) if signed else {}
    scanned = [r.event_id for r in revisions if r.origin == "scanned"]
    counts = store.scans().page_counts(scanned) if scanned else {}
    by_doc: dict[str, list[Any]] = {}
    for r in revisions:
        by_doc.setdefault(r.document_id, []).append(r)
    out = []
    for document_id, revs in by_doc.items():
        latest = revs[0]  # newest first
        rows = []
        for r in revs:
            v = verdicts.get(r.event_id)
            rows.append(
                asdict(r)
                | {
                    "validation": shown_validation(r.origin, r.signature_level, v),
                    "validation_code": v.code if v else None,
                    "validation_reason": v.reason if v else None,
                    "station_revocation": v.station_revocation if v else None,
                    "body_available": bodies.info(r.sha256) is not None,
                    "page_count": counts.get(r.event_id),  # a scan's PageCount, else None
                }
            )
        workflow = sigs.workflow(document_id) if latest.origin == "signed" else None
        shown = worst([x["validation"] for x in rows])  # the worst revision speaks for it
        out.append(
            {
                "document_id": document_id,
                "latest": rows[0],
                "revisions": rows,
                "workflow": workflow,
                "invalid": shown in BLOCKING,
                "shown": shown,
                "station_pending": any(x["station_revocation"] == "pending" for x in rows),
                "signers": [x["signer_subject"] for x in reversed(rows) if x["signer_subject"]],
            }
        )
    return out


def cases_with_unsigned_document(store: Store, case_ids: Sequence[str]) -> set[str]:
    """Which of these cases hold a signed document that is not complete."""
    if not case_ids:
        return set()
    rows = store.case_queries().signed_document_rows(case_ids)
    verdicts = store.signatures().revision_verdicts([(r[8], r[0], r[6]) for r in rows])
    by_doc: dict[str, list[tuple[Any, ...]]] = {}
    for r in rows:
        by_doc.setdefault(r[10], []).append(r[:10])
    return {
        doc_rows[0][2]
        for document_id, doc_rows in by_doc.items()
        if is_unsigned(build_workflow(document_id, doc_rows, verdicts))
    }
