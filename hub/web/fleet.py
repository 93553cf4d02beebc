"""Console pages for ops: the fleet, a station (devices, health, certificate), enrollment codes,
retirement with confirmation, device replacement and CSV import with per-row errors."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from hub.api.fleet import import_text
from hub.fleet import FleetService
from hub.services import station_devices
from hub.storage import fleet_search
from hub.storage.base import Conflict
from hub.storage.fleet_search import FleetQuery
from hub.web.deps import Csrf, OpsUser, render
from protos import device_catalogue
from provisioning import csv_io
from provisioning.errors import InvalidRecord, ProvisioningError
from provisioning.registry import Device, validate_device

router = APIRouter(prefix="/console", include_in_schema=False)

MAX_CSV = 8 * 1024 * 1024
FLEET_PER_PAGE = 50


def _fleet(request: Request) -> FleetService:
    fleet: FleetService = request.app.state.fleet
    return fleet


def _not_found(request: Request, what: str) -> HTMLResponse:
    return render(request, "error.html", 404, title_key="not_found", role="", detail=what)


@router.get("/fleet", response_class=HTMLResponse)
def fleet_page(
    request: Request,
    user: OpsUser,
    q: Annotated[str, Query(max_length=128)] = "",
    unit: Annotated[str, Query(max_length=128)] = "",
    state: Annotated[str, Query(pattern="^(online|offline|retired)?$")] = "",
    problem: bool = False,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    fleet = _fleet(request)
    names = fleet.registry.units()
    query = FleetQuery(q, unit, state, problem, page, FLEET_PER_PAGE)
    found = fleet_search.search(fleet.store, query)  # type: ignore[arg-type]  # it reads through the store's _conn/_write, outside the Store protocol
    by_id = fleet.store.stations_by_id(found.station_ids)
    expiry = fleet.certificate_expiry()
    configs = {c.station_id: c for c in fleet.registry.configs()}
    registered: dict[str, list[Device]] = {}
    for d in fleet.registry.devices():
        registered.setdefault(d.station_id, []).append(d)
    reported = fleet.registry.reported(found.station_ids)
    units: dict[str, list[dict[str, Any]]] = {}
    for station_id in found.station_ids:
        s = by_id[station_id]
        config = configs.get(s.station_id)
        rows = station_devices.compare(registered.get(station_id, []), reported.get(station_id))
        units.setdefault(s.unit_id, []).append(
            {
                "s": s,
                "state": "retired" if s.retired_at else ("online" if s.online else "offline"),
                "cert_expiry": expiry.get(s.station_id),
                "config": config,
                "devices": station_devices.summary(rows, reported.get(station_id)),
                "device_rows": [r for r in rows if r.finding != station_devices.OK],
                "problem": s.station_id in found.problem_ids,
                "events": found.event_counts.get(s.station_id, 0),
            }
        )
    form = {"q": q, "unit": unit, "state": state, "problem": "1" if problem else ""}
    return render(
        request,
        "fleet.html",
        units=units,
        unit_names=names,
        broker=fleet.broker_status,
        found=found,
        f=form,
        page=page,
        pages=max(1, -(-found.matching // FLEET_PER_PAGE)),
        qs=urlencode({k: v for k, v in form.items() if v}),
    )


@router.post("/fleet/broker-refresh", dependencies=[Csrf])
def broker_refresh(request: Request, user: OpsUser) -> Response:
    """Retry bringing the broker in step (CRL reload, station access) after a failure."""
    _fleet(request).refresh_broker()
    return RedirectResponse("/console/fleet", status_code=303)


def _station_context(request: Request, station_id: str) -> dict[str, Any] | None:
    fleet = _fleet(request)
    station = fleet.store.get_station(station_id)
    if station is None:
        return None
    devices = fleet.registry.devices(station_id)
    reported = fleet.registry.reported([station_id]).get(station_id)
    return {
        "s": station,
        "unit_name": fleet.registry.units().get(station.unit_id, ""),
        "devices": devices,
        "reported": reported,
        "device_rows": station_devices.compare(devices, reported),
        "catalogue": device_catalogue.CATALOGUE,
        "families": device_catalogue.FAMILIES,
        "health": fleet.registry.device_health(station_id),
        "history": fleet.registry.device_history(station_id),
        "certificates": fleet.registry.certificates(station_id),
        "config": fleet.registry.config(station_id),
    }


@router.get("/stations/{station_id}", response_class=HTMLResponse)
def station_page(request: Request, station_id: str, user: OpsUser) -> HTMLResponse:
    context = _station_context(request, station_id)
    if context is None:
        return _not_found(request, station_id)
    return render(request, "station.html", **context)


@router.post("/stations/{station_id}/enrollment-codes", dependencies=[Csrf])
def create_code(request: Request, station_id: str, user: OpsUser) -> Response:
    """The code is in this response only (no-store); the hub keeps its hash."""
    try:
        code, expires_at = _fleet(request).create_code(station_id, f"console:{user.name}")
    except ProvisioningError as exc:
        context = _station_context(request, station_id)
        if context is None:
            return _not_found(request, station_id)
        return render(request, "station.html", exc.status, error=exc.reason, **context)
    return render(
        request,
        "code.html",
        station_id=station_id,
        code=code,
        expires_at=expires_at.strftime("%Y-%m-%d %H:%M UTC"),
    )


@router.get("/stations/{station_id}/retire", response_class=HTMLResponse)
def retire_confirm(request: Request, station_id: str, user: OpsUser) -> HTMLResponse:
    station = _fleet(request).store.get_station(station_id)
    if station is None:
        return _not_found(request, station_id)
    return render(request, "retire.html", s=station, mismatch=False)


@router.post("/stations/{station_id}/retire", dependencies=[Csrf])
def retire(
    request: Request,
    station_id: str,
    user: OpsUser,
    confirm: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    fleet = _fleet(request)
    station = fleet.store.get_station(station_id)
    if station is None:
        return _not_found(request, station_id)
    if confirm.strip() != station_id:
        return render(request, "retire.html", 422, s=station, mismatch=True)
    _, revoked = fleet.retire(station_id)
    context = _station_context(request, station_id)
    assert context is not None
    return render(request, "station.html", notice=("retired_done", {"n": revoked}), **context)


@router.post("/stations/{station_id}/devices/{device_id}/replace", dependencies=[Csrf])
def replace_device(
    request: Request,
    station_id: str,
    device_id: str,
    user: OpsUser,
    serial: Annotated[str, Form(max_length=128)] = "",
    model: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """A new physical device at the same slot: same driver and settings, new serial/model."""
    fleet = _fleet(request)
    current = next(
        (d for d in fleet.registry.devices(station_id) if d.device_id == device_id), None
    )
    if current is None:
        return _not_found(request, f"{station_id}/{device_id}")
    from hub.ingest.timefmt import now_iso

    error = None
    try:
        device = validate_device(
            replace(current, serial=serial.strip(), model=model.strip() or current.model)
        )
        fleet.registry.put_device(device, now_iso())
        fleet.publish_config(station_id)
    except (InvalidRecord, ProvisioningError) as exc:
        error = exc.reason
    except Conflict as exc:
        error = exc.reason
    context = _station_context(request, station_id)
    assert context is not None
    if error:
        return render(request, "station.html", 422, error=error, **context)
    version = context["config"].version if context["config"] else 0
    return render(request, "station.html", notice=("replace_done", {"v": version}), **context)


@router.post("/stations/{station_id}/devices", dependencies=[Csrf])
def add_device(
    request: Request,
    station_id: str,
    user: OpsUser,
    device_id: Annotated[str, Form(max_length=64)] = "",
    driver: Annotated[str, Form(max_length=64)] = "",
    model: Annotated[str, Form(max_length=128)] = "",
    serial: Annotated[str, Form(max_length=128)] = "",
    settings: Annotated[str, Form(max_length=4096)] = "",
) -> Response:
    """Register a device from the catalogue (the same check as the CSV import and the API),
    then publish the station's config."""
    fleet = _fleet(request)
    station = fleet.store.get_station(station_id)
    if station is None:
        return _not_found(request, station_id)
    from hub.ingest.timefmt import now_iso

    problem: InvalidRecord | ProvisioningError | None = None
    try:
        options = csv_io.parse_settings(driver.strip(), settings)
        device = validate_device(
            Device(
                device_id=device_id.strip(),
                station_id=station_id,
                device_type="",
                driver=driver.strip(),
                model=model.strip(),
                serial=serial.strip(),
                options=options,
            )
        )
        fleet.registry.put_device(device, now_iso())
        fleet.publish_config(station_id)
    except (InvalidRecord, ProvisioningError) as exc:
        problem = exc
    except Conflict as exc:
        problem = InvalidRecord(exc.reason, "duplicate_serial", field="serial")
    context = _station_context(request, station_id)
    assert context is not None
    form = {"device_id": device_id, "driver": driver, "model": model, "serial": serial}
    if problem is not None:
        return render(
            request,
            "station.html",
            422,
            problem=problem,
            form={**form, "settings": settings},
            **context,
        )
    version = context["config"].version if context["config"] else 0
    return render(request, "station.html", notice=("device_added", {"v": version}), **context)


@router.get("/import", response_class=HTMLResponse)
def import_page(request: Request, user: OpsUser) -> HTMLResponse:
    return render(request, "import.html", result=None)


@router.post("/import", dependencies=[Csrf])
async def import_post(
    request: Request,
    user: OpsUser,
    file: Annotated[UploadFile | None, File()] = None,
    text: Annotated[str, Form(max_length=MAX_CSV)] = "",
) -> Response:
    data = (await file.read(MAX_CSV + 1)) if file is not None and file.filename else b""
    if len(data) > MAX_CSV:
        return render(request, "import.html", 413, result=None, error="CSV > 8 MiB")
    csv_text = await run_in_threadpool(data.decode, "utf-8-sig", "replace") if data else text
    if not csv_text.strip():
        return render(request, "import.html", 422, result=None, error_key="empty_csv")
    result = await run_in_threadpool(import_text, _fleet(request), csv_text)  # off the loop
    return render(request, "import.html", 200, result=result)


@router.get("/stations", include_in_schema=False)
def stations_index(user: OpsUser) -> Response:
    return RedirectResponse("/console/fleet", status_code=303)
