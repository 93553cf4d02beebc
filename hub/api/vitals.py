"""Vital signs of a case: readings per parameter, the live feed (SSE), FHIR and HL7 v2 exports."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from hub.api.deps import Reader, StoreDep
from hub.api.problems import ApiError
from hub.storage.readings import iso_z, sets_with_readings
from hub.vitals import fhir, oru
from hub.vitals.service import VitalsHub, reading_json

router = APIRouter(tags=["vitals"])

FHIR_JSON = "application/fhir+json"
HL7_V2 = "x-application/hl7-v2+er7"


def get_vitals(request: Request, store: StoreDep) -> VitalsHub:
    vitals: VitalsHub | None = getattr(request.app.state, "vitals", None)
    if vitals is None:  # an app built without HubService (tests): read the same database
        vitals = VitalsHub.for_store(store)
        request.app.state.vitals = vitals
    return vitals


VitalsDep = Annotated[VitalsHub, Depends(get_vitals)]


def _when(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise ApiError(
            422,
            "bad_timestamp",
            "Invalid input / Datos no válidos",
            f"{name} must be an ISO 8601 time with zone, e.g. 2025-01-31T14:05:00Z / "
            f"{name} debe ser una hora ISO 8601 con zona",
        )
    return iso_z(at.astimezone(UTC))


def _case(store: Any, case_id: str) -> None:
    if store.get_case(case_id) is None:
        raise ApiError(
            404,
            "case_not_found",
            "Not found / No encontrado",
            f"no case {case_id} / no existe el caso {case_id}",
        )


@router.get("/v1/cases/{case_id}/vitals")
def case_vitals(
    case_id: str,
    _caller: Reader,
    store: StoreDep,
    vitals: VitalsDep,
    since: str | None = None,
    until: str | None = None,
    parameter: str | None = None,
) -> dict[str, Any]:
    """Readings of a case per parameter (accepted), the rejected ones, and the sessions."""
    _case(store, case_id)
    a, b = _when(since, "since"), _when(until, "until")
    by_param: dict[str, list[dict[str, Any]]] = {}
    rejected = []
    sets = {s.event_id: s for s in vitals.readings.sets(case_id, None, None)}
    for r in vitals.readings.readings(case_id, a, b, parameter):
        if r.status == "accepted":
            by_param.setdefault(r.parameter, []).append(reading_json(r, sets.get(r.event_id)))
        else:
            rejected.append(reading_json(r, sets.get(r.event_id)))
    return {
        "case_id": case_id,
        "parameters": by_param,
        "rejected": rejected,
        "sessions": [
            {
                "session_id": s.session_id,
                "device_id": s.device_id,
                "station_id": s.station_id,
                "started_at": s.started_at,
                "stopped_at": s.stopped_at,
            }
            for s in vitals.readings.sessions(case_id)
        ],
    }


@router.get("/v1/cases/{case_id}/vitals/live")
async def case_vitals_live(
    case_id: str, request: Request, _caller: Reader, store: StoreDep, vitals: VitalsDep
) -> StreamingResponse:
    """Server-Sent Events: each reading of the case as the hub stores it."""
    _case(store, case_id)
    sub = vitals.feed.subscribe(case_id)

    async def events() -> AsyncIterator[bytes]:
        try:
            yield b": connected\n\n"
            while True:
                try:
                    item = await asyncio.wait_for(sub.queue.get(), timeout=15)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield b": keep-alive\n\n"
                    continue
                kind = item.get("event", "reading")
                yield f"event: {kind}\ndata: {json.dumps(item)}\n\n".encode()
        finally:
            vitals.feed.unsubscribe(sub)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _fhir(vitals: VitalsHub, case_id: str | None, since: str | None, until: str | None) -> Response:
    a, b = _when(since, "since"), _when(until, "until")
    sets = sets_with_readings(vitals.readings, case_id, a, b)
    sessions = [
        s
        for s in vitals.readings.sessions(case_id)
        if (not a or (s.stopped_at or "9999") >= a) and (not b or s.started_at < b)
    ]
    try:
        body = fhir.bundle(sets, sessions).model_dump_json(exclude_none=True)
    except fhir.ExportError as exc:
        raise ApiError(500, exc.code, "Export failed / Exportación fallida", exc.reason) from exc
    return Response(body, media_type=FHIR_JSON)


def _hl7(vitals: VitalsHub, case_id: str | None, since: str | None, until: str | None) -> Response:
    a, b = _when(since, "since"), _when(until, "until")
    messages = [oru.oru(s, r) for s, r in sets_with_readings(vitals.readings, case_id, a, b)]
    return Response(oru.batch(messages), media_type=HL7_V2)


@router.get("/v1/cases/{case_id}/vitals/fhir")
def case_vitals_fhir(
    case_id: str,
    _caller: Reader,
    store: StoreDep,
    vitals: VitalsDep,
    since: str | None = None,
    until: str | None = None,
) -> Response:
    """FHIR Bundle (valid R4 and R4B): each reading an Observation with its Device; sessions."""
    _case(store, case_id)
    return _fhir(vitals, case_id, since, until)


@router.get("/v1/cases/{case_id}/vitals/hl7")
def case_vitals_hl7(
    case_id: str,
    _caller: Reader,
    store: StoreDep,
    vitals: VitalsDep,
    since: str | None = None,
    until: str | None = None,
) -> Response:
    """HL7 v2 batch of ORU^R01 (IHE PCD-01), one message per observation set."""
    _case(store, case_id)
    return _hl7(vitals, case_id, since, until)


@router.get("/v1/vitals/fhir")
def range_vitals_fhir(
    _caller: Reader,
    vitals: VitalsDep,
    since: Annotated[str, Query()],
    until: Annotated[str, Query()],
) -> Response:
    """FHIR Bundle (R4 and R4B) of every case's vital signs measured in [since, until)."""
    return _fhir(vitals, None, since, until)


@router.get("/v1/vitals/hl7")
def range_vitals_hl7(
    _caller: Reader,
    vitals: VitalsDep,
    since: Annotated[str, Query()],
    until: Annotated[str, Query()],
) -> Response:
    """HL7 v2 batch of every case's observation sets measured in [since, until)."""
    return _hl7(vitals, None, since, until)
