"""Cases: open, close, list, and read one with its timeline of events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field

from hub.api.biometrics import StepOut, case_steps, checked_confirmations
from hub.api.deps import CaseWriter, Reader, StoreDep
from hub.api.models import CaseDetail, CaseIn, CaseOut, CasePage, EventOut
from hub.api.problems import ApiError
from hub.ingest.timefmt import now_iso
from hub.storage.base import Case
from hub.storage.console_facts import ConsoleFacts, PatientFacts

router = APIRouter(prefix="/v1/cases", tags=["cases"])

Limit = Annotated[int, Query(ge=1, le=500)]


def _not_found(case_id: str) -> ApiError:
    return ApiError(
        404,
        "case_not_found",
        "Not found / No encontrado",
        f"no case {case_id} / no existe el caso {case_id}",
    )


@router.post("", status_code=201, response_model=CaseOut)
def open_case(body: CaseIn, caller: CaseWriter, store: StoreDep, response: Response) -> CaseOut:
    """Open a case (201). The same case again with the same data is 200; other data is 409.
    Name, sex and birth date are optional; once stored, a different value is 409 too."""
    case, created = store.open_case(
        Case(body.case_id, body.patient_id, body.unit_id, now_iso(), None, caller.name)
    )
    facts = ConsoleFacts(store)  # type: ignore[arg-type]  # it reads through the store's _conn/_write, outside the Store protocol
    given = PatientFacts(
        body.patient_name or "",
        body.sex or "",
        body.birth_date.isoformat() if body.birth_date else "",
    )
    if given:
        facts.set_patient(case.case_id, given)
    if not created:
        response.status_code = 200
    return CaseOut.of(case, facts.patient(case.case_id))


@router.get("", response_model=CasePage)
def list_cases(
    _caller: Reader,
    store: StoreDep,
    patient_id: str | None = None,
    unit_id: str | None = None,
    limit: Limit = 50,
    before: str | None = None,
) -> CasePage:
    """Cases, newest opened first, optionally of one patient or unit."""
    page = store.list_cases(patient_id, unit_id, limit, before)
    patients = ConsoleFacts(store).patients([c.case_id for c in page.items])  # type: ignore[arg-type]  # it reads through the store's _conn/_write, outside the Store protocol
    return CasePage(
        items=[CaseOut.of(c, patients.get(c.case_id)) for c in page.items],
        next_cursor=page.next_cursor,
    )


class CaseDetailOut(CaseDetail):
    biometrics: list[StepOut] = Field(
        description="Fingerprint steps: confirmed, failed, invalid_signature or missing "
        "(required ones always listed; details at /v1/cases/{id}/biometrics)"
    )


@router.get("/{case_id}", response_model=CaseDetailOut)
def get_case(
    case_id: str,
    _caller: Reader,
    store: StoreDep,
    request: Request,
    limit: Limit = 50,
    before: str | None = None,
) -> CaseDetailOut:
    """A case with its events of every kind, newest first (cursor-paginated)."""
    case = store.get_case(case_id)
    if case is None:
        raise _not_found(case_id)
    page = store.case_timeline(case_id, limit, before)
    return CaseDetailOut(
        **CaseOut.of(case, ConsoleFacts(store).patient(case_id)).model_dump(),  # type: ignore[arg-type]  # it reads through the store's _conn/_write, outside the Store protocol
        timeline=[EventOut.of(e) for e in page.items],
        next_cursor=page.next_cursor,
        biometrics=case_steps(request, checked_confirmations(request, store, case)),
    )


@router.post("/{case_id}/close", response_model=CaseOut)
def close_case(case_id: str, _caller: CaseWriter, store: StoreDep) -> CaseOut:
    """Close a case (closing a closed case changes nothing). Late events still join it."""
    if store.get_case(case_id) is None:
        raise _not_found(case_id)
    return CaseOut.of(store.close_case(case_id, now_iso()))
