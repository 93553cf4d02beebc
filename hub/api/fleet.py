"""Fleet API: units, devices, CSV import/export, enrollment codes, enrollment, remote config."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from hub.api.deps import Caller, Ops, StoreDep, require
from hub.api.problems import ApiError
from hub.fleet import FleetService
from hub.ingest.timefmt import now_iso
from hub.storage.base import Conflict, NotFound
from hub.storage.console_facts import DEFAULT_TIME_ZONE, ConsoleFacts, valid_time_zone
from hub.tokens import Role
from provisioning import csv_io
from provisioning.errors import InvalidRecord, ProvisioningError
from provisioning.registry import Device, Unit, validate_device, validate_unit

router = APIRouter(tags=["fleet"])
FleetReader = Annotated[Caller, Depends(require(Role.OPS, Role.READONLY))]


def get_fleet(request: Request) -> FleetService:
    fleet: FleetService | None = getattr(request.app.state, "fleet", None)
    if fleet is None:
        raise ApiError(
            503,
            "fleet_unavailable",
            "Unavailable / No disponible",
            "provisioning is not running in this hub / el aprovisionamiento no está activo",
        )
    return fleet


FleetDep = Annotated[FleetService, Depends(get_fleet)]


def _problem(exc: ProvisioningError) -> ApiError:
    """``detail`` in both languages; where a field is at fault, the field, what is allowed
    and the message in each language on its own (``en``, ``es``)."""
    extra: dict[str, Any] = (
        {"field": exc.field, "allowed": exc.allowed, "en": exc.en, "es": exc.es}
        if exc.field
        else {}
    )
    return ApiError(exc.status, exc.code, "Provisioning / Aprovisionamiento", exc.reason, **extra)


# -- units and devices -------------------------------------------------------------------
class UnitIn(BaseModel):
    unit_id: str
    name: str
    time_zone: str | None = Field(
        None,
        max_length=64,
        description="IANA time zone the console shows the unit's times in "
        "(default America/Guatemala) / zona horaria de la unidad",
    )


@router.post("/v1/units", status_code=201)
def add_unit(
    body: UnitIn, _caller: Ops, fleet: FleetDep, request: Request, response: Response
) -> dict[str, Any]:
    facts = ConsoleFacts(request.app.state.store)
    if body.time_zone is not None:
        try:
            valid_time_zone(body.time_zone)
        except ValueError as exc:
            raise ApiError(
                422, "invalid_time_zone", "Invalid time zone / Zona horaria no válida", str(exc)
            ) from exc
    try:
        created = fleet.registry.add_unit(validate_unit(Unit(body.unit_id, body.name)), now_iso())
    except InvalidRecord as exc:
        raise _problem(exc) from exc
    if body.time_zone is not None:
        facts.set_time_zone(body.unit_id, body.time_zone)
    if not created:
        response.status_code = 200
    return {"unit_id": body.unit_id, "name": body.name, "time_zone": facts.time_zone(body.unit_id)}


@router.get("/v1/units")
def list_units(_caller: FleetReader, fleet: FleetDep, request: Request) -> list[dict[str, str]]:
    zones = ConsoleFacts(request.app.state.store).time_zones()
    return [
        {"unit_id": u, "name": n, "time_zone": zones.get(u, DEFAULT_TIME_ZONE)}
        for u, n in fleet.registry.units().items()
    ]


class DeviceIn(BaseModel):
    device_id: str
    device_type: str = Field("", description="The driver's family; may be left empty.")
    driver: str = Field(description="A name from the device catalogue (docs/provisioning.md).")
    model: str = ""
    serial: str = ""
    usb_vendor_id: str = ""
    usb_product_id: str = ""
    port: str = ""
    baud_rate: int | None = None
    parity: str = ""
    options: dict[str, Any] = Field(default_factory=dict)


@router.put("/v1/stations/{station_id}/devices/{device_id}")
def put_device(
    station_id: str,
    device_id: str,
    body: DeviceIn,
    _caller: Ops,
    fleet: FleetDep,
    store: StoreDep,
) -> dict[str, Any]:
    """Install a device, or replace the one at this slot (the old one stays in the history);
    the station's config is re-published."""
    if store.get_station(station_id) is None:
        raise ApiError(404, "station_not_found", "Not found / No encontrado", station_id)
    if body.device_id != device_id:
        raise ApiError(422, "invalid_record", "Invalid / No válido", "device_id differs from URL")
    try:
        device = validate_device(Device(station_id=station_id, **body.model_dump()))
        fleet.registry.put_device(device, now_iso())
    except InvalidRecord as exc:
        raise _problem(exc) from exc
    except Conflict as exc:
        raise ApiError(409, "duplicate_serial", "Conflict / Conflicto", str(exc)) from exc
    version = _republish(fleet, station_id)
    return {"station_id": station_id, "device_id": device_id, "config_version": version}


@router.delete("/v1/stations/{station_id}/devices/{device_id}")
def remove_device(station_id: str, device_id: str, _caller: Ops, fleet: FleetDep) -> dict[str, Any]:
    try:
        fleet.registry.remove_device(station_id, device_id, now_iso())
    except NotFound as exc:
        raise ApiError(404, "device_not_found", "Not found / No encontrado", str(exc)) from exc
    return {"station_id": station_id, "config_version": _republish(fleet, station_id)}


def _republish(fleet: FleetService, station_id: str) -> int:
    try:
        fleet.publish_config(station_id)
    except ProvisioningError as exc:
        raise _problem(exc) from exc
    record = fleet.registry.config(station_id)
    return record.version if record else 0


@router.get("/v1/stations/{station_id}/devices")
def station_devices(
    station_id: str, _caller: FleetReader, fleet: FleetDep, history: bool = False
) -> list[dict[str, Any]]:
    if history:
        return [
            {**vars(r.device), "installed_at": r.installed_at, "removed_at": r.removed_at}
            for r in fleet.registry.device_history(station_id)
        ]
    return [vars(d) for d in fleet.registry.devices(station_id)]


@router.get("/v1/events/{event_id}/device")
def event_device(
    event_id: str, _caller: FleetReader, fleet: FleetDep, store: StoreDep
) -> dict[str, Any]:
    """Which physical device (model, serial) produced an event: the one installed then."""
    event = store.get_event(event_id)
    if event is None:
        raise ApiError(404, "event_not_found", "Not found / No encontrado", event_id)
    device = fleet.registry.device_at(event.station_id, event.device_id, event.occurred_at)
    if device is None:
        raise ApiError(404, "device_not_found", "Not found / No encontrado", event.device_id)
    return vars(device)


# -- CSV -------------------------------------------------------------------------------
@router.post("/v1/registry/import")
async def import_csv(request: Request, _caller: Ops, fleet: FleetDep) -> dict[str, Any]:
    """Import a CSV (text/csv body): valid rows are stored, bad rows come back with reasons."""
    raw = await request.body()  # at most settings.http_max_import_bytes (body-limit middleware)
    # Decoding and planning megabytes of CSV happen in a worker thread, off the event loop.
    return await run_in_threadpool(
        lambda: import_text(fleet, raw.decode("utf-8-sig", errors="replace"))
    )


def import_text(fleet: FleetService, text: str) -> dict[str, Any]:
    reg = fleet.registry
    plan = csv_io.plan_import(text, reg.units(), reg.stations(), reg.active_serials())
    reg.import_rows(plan.units.values(), plan.stations.values(), plan.devices, now_iso())
    # Stations that already have a config (enrolled) get the new device set at once; the
    # others receive it with their enrollment.
    published, refused = [], []
    for station_id in sorted({d.station_id for d in plan.devices}):
        if reg.config(station_id) is None:
            continue
        try:
            fleet.publish_config(station_id)
            published.append(station_id)
        except ProvisioningError as exc:
            refused.append({"station_id": station_id, "code": exc.code, "reason": exc.reason})
    return {
        "rows": plan.rows,
        "units": len(plan.units),
        "stations": len(plan.stations),
        "devices": len(plan.devices),
        "errors": [vars(e) for e in plan.errors],
        "configs_published": published,
        "configs_refused": refused,
    }


@router.get("/v1/registry/export", response_class=PlainTextResponse)
def export_csv(_caller: FleetReader, fleet: FleetDep, store: StoreDep) -> PlainTextResponse:
    from provisioning.registry import Station

    units = [Unit(u, n) for u, n in fleet.registry.units().items()]
    stations = [Station(s.station_id, s.unit_id) for s in store.list_stations() if not s.retired_at]
    text = csv_io.export_csv(units, stations, fleet.registry.devices())
    return PlainTextResponse(text, media_type="text/csv")


# -- enrollment ------------------------------------------------------------------------
@router.post("/v1/stations/{station_id}/enrollment-codes", status_code=201)
def create_code(station_id: str, caller: Ops, fleet: FleetDep) -> dict[str, str]:
    """A one-time code, shown once; only its hash is stored."""
    try:
        code, expires_at = fleet.create_code(station_id, caller.name)
    except ProvisioningError as exc:
        raise _problem(exc) from exc
    return {"station_id": station_id, "code": code, "expires_at": expires_at.isoformat()}


class EnrollIn(BaseModel):
    code: str = Field(max_length=64)
    csr_pem: str = Field(max_length=16384)


@router.post("/v1/enroll")
def enroll(body: EnrollIn, fleet: FleetDep) -> dict[str, str]:
    """Called by `puente agent enroll`: the code authenticates; the CSR proves the key."""
    try:
        result = fleet.enroll(body.code, body.csr_pem)
    except ProvisioningError as exc:
        raise _problem(exc) from exc
    return {
        "station_id": result.station_id,
        "unit_id": result.unit_id,
        "certificate_pem": result.certificate_pem,
        "ca_pem": result.ca_pem,
        "broker_url": result.broker_url,
        "config_public_key_pem": result.config_public_key_pem,
        "config": result.config,
        "not_after": result.not_after,
    }


@router.get("/v1/pki/ca.pem", response_class=PlainTextResponse)
def ca_pem(fleet: FleetDep) -> PlainTextResponse:
    return PlainTextResponse(fleet.ca.pem.decode(), media_type="application/x-pem-file")


@router.get("/v1/pki/crl.pem", response_class=PlainTextResponse)
def crl_pem(fleet: FleetDep) -> PlainTextResponse:
    return PlainTextResponse(
        fleet.broker_files.crl.read_text(), media_type="application/x-pem-file"
    )


# -- remote config ---------------------------------------------------------------------
class ConfigIn(BaseModel):
    overrides: dict[str, Any] = Field(default_factory=dict)


@router.put("/v1/stations/{station_id}/config")
def put_config(station_id: str, body: ConfigIn, _caller: Ops, fleet: FleetDep) -> dict[str, Any]:
    """Publish a new config version (signed, retained); refused if it fails validation."""
    try:
        fleet.publish_config(station_id, body.overrides)
    except ProvisioningError as exc:
        raise _problem(exc) from exc
    return get_config(station_id, _caller, fleet)


@router.get("/v1/stations/{station_id}/config")
def get_config(station_id: str, _caller: FleetReader, fleet: FleetDep) -> dict[str, Any]:
    record = fleet.registry.config(station_id)
    if record is None:
        raise ApiError(404, "config_not_found", "Not found / No encontrado", station_id)
    return {
        "station_id": station_id,
        "version": record.version,
        "overrides": record.overrides,
        "published_at": record.published_at,
        "applied_version": record.applied_version,
        "applied_error": record.applied_error,
        "reported_at": record.reported_at,
    }


@router.get("/v1/broker/status")
def broker_status(_caller: Ops, fleet: FleetDep) -> dict[str, Any]:
    """The last attempt to bring the broker in step (CRL reload, station access, sessions
    ended): for monitoring. ``ok`` is null when nothing was tried since the hub started."""
    status = fleet.broker_status
    if status is None:
        return {"ok": None, "at": None, "problems": []}
    return {"ok": status.ok, "at": status.at, "problems": list(status.problems)}
