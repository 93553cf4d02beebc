"""Bulk import and export of the registry as CSV, one row per device, with per-row errors.

A row with an empty ``device_id`` registers just its station (and an empty
``station_id`` just its unit). Rows that fail are reported with their line
number, the column or setting at fault and what is allowed, and skipped; the
others are imported.

``driver`` is a name from the device catalogue (``protos/device_catalogue.py``;
old registry names are mapped); ``device_type`` may be left empty (it is the
driver's family). ``settings`` holds the driver's other settings as
``name=value; name=value`` or a JSON object (the export writes JSON).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from protos import device_catalogue as catalogue
from protos.device_catalogue import SettingsProblem
from provisioning.errors import InvalidRecord
from provisioning.registry import (
    Device,
    Station,
    Unit,
    invalid,
    validate_device,
    validate_station,
    validate_unit,
)

COLUMNS = (
    "unit_id",
    "unit_name",
    "station_id",
    "device_id",
    "device_type",
    "driver",
    "model",
    "serial",
    "usb_vendor_id",
    "usb_product_id",
    "port",
    "baud_rate",
    "parity",
    "settings",
)


@dataclass(frozen=True)
class RowError:
    line: int  # 1-based line of the CSV file (the header is line 1)
    code: str
    reason: str  # English / Español (the CLI prints it)
    field: str = ""  # the column (or settings.<name>) at fault
    allowed: str = ""  # what would be accepted there
    en: str = ""
    es: str = ""

    def text(self, lang: str) -> str:
        """The problem in one language, for a page in that language."""
        return (self.es if lang == "es" else self.en) or self.reason


@dataclass
class ImportPlan:
    units: dict[str, Unit] = field(default_factory=dict)
    stations: dict[str, Station] = field(default_factory=dict)
    devices: list[Device] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0


def plan_import(
    text: str,
    known_units: Mapping[str, str],
    known_stations: Mapping[str, str],
    known_serials: Mapping[tuple[str, str], str],
) -> ImportPlan:
    """Validate a CSV against itself and the registry.

    ``known_units``: unit_id → name; ``known_stations``: station_id → unit_id;
    ``known_serials``: (model, serial) → "station_id/device_id" of active devices.
    """
    plan = ImportPlan()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [
        c for c in ("unit_id", "station_id", "device_id") if c not in (reader.fieldnames or [])
    ]
    if missing:
        plan.errors.append(
            RowError(1, "bad_header", f"missing columns {', '.join(missing)} / faltan columnas")
        )
        return plan
    serials = dict(known_serials)
    device_keys: set[tuple[str, str]] = set()
    for index, row in enumerate(reader, start=2):
        plan.rows += 1
        try:
            _plan_row(plan, row, known_units, known_stations, serials, device_keys)
        except InvalidRecord as exc:
            plan.errors.append(
                RowError(index, exc.code, exc.reason, exc.field, exc.allowed, exc.en, exc.es)
            )
    return plan


def _cell(row: Mapping[str, str | None], name: str) -> str:
    return (row.get(name) or "").strip()


def _plan_row(
    plan: ImportPlan,
    row: Mapping[str, str | None],
    known_units: Mapping[str, str],
    known_stations: Mapping[str, str],
    serials: dict[tuple[str, str], str],
    device_keys: set[tuple[str, str]],
) -> None:
    unit_id, station_id, device_id = (_cell(row, c) for c in ("unit_id", "station_id", "device_id"))
    unit_name = _cell(row, "unit_name")
    unit: Unit | None = None
    if unit_id not in known_units and unit_id not in plan.units:
        if not unit_name:
            raise InvalidRecord(
                f"unknown unit {unit_id!r} (give unit_name to create it) / "
                f"unidad desconocida {unit_id!r} (indique unit_name para crearla)",
                "unknown_unit",
            )
        unit = validate_unit(Unit(unit_id, unit_name))
    station: Station | None = None
    if station_id:
        station = validate_station(Station(station_id, unit_id))
        owner = known_stations.get(station_id) or (
            plan.stations[station_id].unit_id if station_id in plan.stations else None
        )
        if owner is not None and owner != unit_id:
            raise InvalidRecord(
                f"station {station_id} belongs to unit {owner} / la estación {station_id} "
                f"pertenece a la unidad {owner}",
                "station_in_other_unit",
            )
    elif device_id:
        raise InvalidRecord("a device needs its station_id / falta station_id", "missing_station")
    device: Device | None = None
    if device_id and station is not None:
        baud = _cell(row, "baud_rate")
        try:
            baud_rate = int(baud) if baud else None
        except ValueError as exc:
            en = f"'baud_rate' {baud!r} is not a number"
            es = f"'baud_rate' {baud!r} no es un número"
            raise InvalidRecord(
                f"{en} / {es}", "bad_setting", field="baud_rate", allowed="9600, ...", en=en, es=es
            ) from exc
        driver = _cell(row, "driver")
        settings = parse_settings(driver, _cell(row, "settings"))
        device = validate_device(
            Device(
                device_id=device_id,
                station_id=station_id,
                device_type=_cell(row, "device_type"),
                driver=driver,
                model=_cell(row, "model"),
                serial=_cell(row, "serial"),
                usb_vendor_id=_cell(row, "usb_vendor_id"),
                usb_product_id=_cell(row, "usb_product_id"),
                port=_cell(row, "port"),
                baud_rate=baud_rate,
                parity=_cell(row, "parity"),
                options=settings,
            )
        )
        key = (station_id, device_id)
        if key in device_keys:
            raise InvalidRecord(
                f"device {device_id} appears twice for station {station_id} / "
                f"el dispositivo {device_id} aparece dos veces",
                "duplicate_device",
            )
        if device.serial:
            holder = serials.get((device.model, device.serial))
            if holder is not None and holder != f"{station_id}/{device_id}":
                raise InvalidRecord(
                    f"duplicate serial {device.serial} ({device.model}): already {holder} / "
                    f"número de serie duplicado {device.serial}: ya está en {holder}",
                    "duplicate_serial",
                )
            serials[(device.model, device.serial)] = f"{station_id}/{device_id}"
        device_keys.add(key)
    # Only a fully valid row changes the plan.
    if unit is not None:
        plan.units[unit.unit_id] = unit
    if station is not None and station.station_id not in known_stations:
        plan.stations[station.station_id] = station
    if device is not None:
        plan.devices.append(device)


def parse_settings(driver: str, cell: str) -> dict[str, Any]:
    """A ``settings`` cell (or the console form's field) typed by the driver's schema;
    problems name ``settings.<name>`` (or ``driver`` when the driver is unknown)."""
    try:
        name = catalogue.resolve(driver)[0]
    except SettingsProblem as exc:
        raise invalid(exc) from exc
    try:
        return catalogue.parse_settings_cell(name, cell)
    except SettingsProblem as exc:
        raise invalid(exc, "settings" if exc.field != "settings" else "") from exc


def export_csv(
    units: Iterable[Unit], stations: Iterable[Station], devices: Iterable[Device]
) -> str:
    """The registry as CSV that ``plan_import`` reads back unchanged."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    names = {u.unit_id: u.name for u in units}
    by_station: dict[str, list[Device]] = {}
    for device in devices:
        by_station.setdefault(device.station_id, []).append(device)
    seen_units: set[str] = set()
    for s in sorted(stations, key=lambda s: (s.unit_id, s.station_id)):
        seen_units.add(s.unit_id)
        rows: list[Device] | list[None] = by_station.get(s.station_id) or [None]
        for d in rows:
            base = {
                "unit_id": s.unit_id,
                "unit_name": names.get(s.unit_id, ""),
                "station_id": s.station_id,
            }
            if d is not None:
                base.update(
                    device_id=d.device_id,
                    device_type=d.device_type,
                    driver=d.driver,
                    model=d.model,
                    serial=d.serial,
                    usb_vendor_id=d.usb_vendor_id,
                    usb_product_id=d.usb_product_id,
                    port=d.port,
                    baud_rate="" if d.baud_rate is None else str(d.baud_rate),
                    parity=d.parity,
                    settings=json.dumps(d.options, sort_keys=True) if d.options else "",
                )
            writer.writerow(base)
    for unit_id in sorted(set(names) - seen_units):
        writer.writerow({"unit_id": unit_id, "unit_name": names[unit_id]})
    return out.getvalue()
