"""Pharmacy: dispensed medicines of a case, their FHIR export, lot recall, the station catalogue."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from hub.api.deps import ALL_ROLES, Caller, Ops, Reader, StoreDep, require
from hub.api.problems import ApiError
from hub.ingest.timefmt import now_iso
from hub.pharmacy.fhir import dispense_bundle
from hub.pharmacy.verify import DispensingCheck
from hub.services import dispensing as dispensing_service
from hub.storage.dispensing import Dispensing, DispensingStore
from hub.tokens import Role
from protos.pharmacy_catalogue import CatalogueError, parse_document

router = APIRouter(prefix="/v1", tags=["pharmacy"])
# Stations fetch the catalogue to cache it; every reader may see it.
CatalogueReader = Annotated[Caller, Depends(require(*ALL_ROLES, Role.STATION))]


def dispensing_store(request: Request) -> DispensingStore:
    store: DispensingStore = request.app.state.store.dispensing()
    return store


def checked_dispensings(request: Request, case_id: str) -> list[tuple[Dispensing, DispensingCheck]]:
    """The case's dispensings, newest first, each with its verification."""
    return dispensing_service.checked_dispensings(request.app.state.store, case_id)


def dispensing_json(d: Dispensing, check: DispensingCheck) -> dict[str, Any]:
    return {
        **asdict(d),
        "verification": {
            "verified": check.verified,
            "problem": check.problem,
            "reason": check.reason,
        },
    }


def _case(store: StoreDep, case_id: str) -> None:
    if store.get_case(case_id) is None:
        raise ApiError(
            404,
            "case_not_found",
            "Not found / No encontrado",
            f"no case {case_id} / no existe el caso {case_id}",
        )


@router.get("/cases/{case_id}/dispensed")
def case_dispensed(
    case_id: str, request: Request, _caller: Reader, store: StoreDep
) -> list[dict[str, Any]]:
    """What was handed over on this case: items, when, by whom, the patient's confirmation."""
    _case(store, case_id)
    return [dispensing_json(d, c) for d, c in checked_dispensings(request, case_id)]


@router.get("/cases/{case_id}/fhir/medication-dispense")
def case_medication_dispense(
    case_id: str, request: Request, _caller: Reader, store: StoreDep
) -> dict[str, Any]:
    """FHIR R4 Bundle (collection) of MedicationDispense, one per item, Medication contained."""
    _case(store, case_id)
    return dispense_bundle(checked_dispensings(request, case_id))


@router.get("/pharmacy/recall")
def recall(
    request: Request,
    _caller: Reader,
    lot: Annotated[str, Query(min_length=1, max_length=20, description="GS1 AI (10)")],
    gtin: Annotated[str | None, Query(pattern=r"^\d{14}$")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> dict[str, Any]:
    """Which patients received lot X (of GTIN Y): every item handed over, newest first."""
    hits = dispensing_store(request).recall(lot, gtin, limit)
    return {
        "lot": lot,
        "gtin": gtin,
        "patients": sorted({h.patient_id for h in hits}),
        "items": [asdict(h) for h in hits],
    }


@router.get("/pharmacy/catalogue")
def get_catalogue(request: Request, _caller: CatalogueReader) -> dict[str, Any]:
    """The medicine catalogue stations cache (GTIN -> institute code, name, units per pack)."""
    found = dispensing_store(request).catalogue()
    if found is None:
        raise ApiError(
            404,
            "no_catalogue",
            "Not found / No encontrado",
            "no pharmacy catalogue was loaded / no se ha cargado el catálogo de farmacia",
        )
    catalogue: dict[str, Any] = json.loads(found[1])
    return catalogue


@router.put("/pharmacy/catalogue")
def put_catalogue(body: dict[str, Any], request: Request, _caller: Ops) -> dict[str, Any]:
    """Load the catalogue (ops). Every item is checked; one bad item refuses the whole load."""
    try:
        version, products = parse_document(body)
    except CatalogueError as exc:
        raise ApiError(
            422, "bad_catalogue", "Invalid catalogue / Catálogo no válido", str(exc)
        ) from exc
    document = {"version": version, "items": [asdict(p) for p in products]}
    dispensing_store(request).set_catalogue(version, json.dumps(document), now_iso())
    return {"version": version, "items": len(products)}
