"""The device catalogue both sides read: driver names, families and one settings check.

Provisioning (registry, CSV import, the ops console), the hub's signed config and
the agent all use the drivers' entry-point names from this table and check a
device's settings with :func:`check_settings`, so a setting refused at the
station is refused when ops type it. The table itself is generated from the
drivers' manifests (``protos/device_catalogue_table.py``).

Every problem names the field and what is allowed, in English and in Spanish
(``SettingsProblem.en`` / ``.es``; ``reason`` carries both for the CLI and logs).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from protos.device_catalogue_table import CATALOGUE

# Families in the order people read them: (English, Spanish).
FAMILIES: dict[str, tuple[str, str]] = {
    "vitals": ("vital-signs monitor", "monitor de signos vitales"),
    "fingerprint": ("fingerprint reader", "lector de huellas"),
    "scanner": ("document scanner", "escáner de documentos"),
    "token": ("signing token", "token de firma"),
    "barcode": ("barcode scanner", "lector de códigos de barras"),
}

# Device types the registry used before the catalogue → family.
LEGACY_TYPES = {"monitor": "vitals"}

# Driver names the registry used before the catalogue → (driver, settings it implies).
# None: no single driver replaces it (ops must choose; the problem lists the candidates).
LEGACY_DRIVERS: dict[str, tuple[str | None, dict[str, Any]]] = {
    "fingerprint.usb": ("usb.fingerprint", {}),
    "scanner.sane": ("sane", {}),
    "token.pkcs11": ("pkcs11", {}),
    "sim.scanner": ("sane", {"device": "test:0"}),  # SANE's test backend is the simulator
    "vitals.serial": (None, {}),
    "sim.token": (None, {}),
}

# Registry columns that are driver settings under another name (CSV, console form, API).
COLUMN_SETTINGS = {"port": "port", "baud_rate": "baudrate", "parity": "parity"}


class SettingsProblem(ValueError):
    """One thing wrong with a device's driver or settings: ``field`` names where, ``allowed``
    what would do, ``en``/``es`` say it in one language each."""

    def __init__(self, code: str, field: str, allowed: str, en: str, es: str) -> None:
        super().__init__(f"{en} / {es}")
        self.code, self.field, self.allowed, self.en, self.es = code, field, allowed, en, es

    @property
    def reason(self) -> str:
        return f"{self.en} / {self.es}"

    def text(self, lang: str) -> str:
        """The message in one language ("es" or "en")."""
        return self.es if lang == "es" else self.en

    def located(self, prefix: str) -> SettingsProblem:
        """The same problem with its field under ``prefix`` (e.g. ``devices[0].settings``)."""
        return self.renamed(f"{prefix}.{self.field}" if self.field else prefix)

    def renamed(self, field: str) -> SettingsProblem:
        """The same problem naming the field as the person typed it (e.g. a CSV column)."""
        return SettingsProblem(
            self.code,
            field,
            self.allowed,
            self.en.replace(f"'{self.field}'", f"'{field}'", 1),
            self.es.replace(f"'{self.field}'", f"'{field}'", 1),
        )


def names(family: str | None = None, *, simulators: bool = True) -> list[str]:
    return [
        n
        for n, e in CATALOGUE.items()
        if (family is None or e["family"] == family) and (simulators or not e["simulator"])
    ]


def entry(driver: str) -> dict[str, Any] | None:
    return CATALOGUE.get(driver)


def family_of(device_type: str) -> str:
    return LEGACY_TYPES.get(device_type, device_type)


def resolve(driver: str) -> tuple[str, dict[str, Any]]:
    """The catalogue name of ``driver`` (an old registry name is mapped) and the settings
    the old name implied; SettingsProblem if it names no driver."""
    if driver in CATALOGUE:
        return driver, {}
    if driver in LEGACY_DRIVERS:
        new, implied = LEGACY_DRIVERS[driver]
        if new is not None:
            return new, dict(implied)
        candidates = _legacy_candidates(driver)
        raise SettingsProblem(
            "legacy_driver",
            "driver",
            ", ".join(candidates),
            f"'driver' {driver!r} is an old name no single driver replaces; choose one of "
            f"{', '.join(candidates)}",
            f"'driver' {driver!r} es un nombre antiguo sin un único reemplazo; elija uno de "
            f"{', '.join(candidates)}",
        )
    allowed = ", ".join(CATALOGUE)
    raise SettingsProblem(
        "unknown_driver",
        "driver",
        allowed,
        f"'driver' {driver!r} is not in the device catalogue (one of {allowed})",
        f"'driver' {driver!r} no está en el catálogo de dispositivos (uno de {allowed})",
    )


def _legacy_candidates(driver: str) -> list[str]:
    if driver == "vitals.serial":
        return [
            n for n, e in CATALOGUE.items() if e["family"] == "vitals" and e["attach"] == "serial"
        ]
    if driver == "sim.token":
        return names("token")
    return list(CATALOGUE)


def check_family(driver: str, device_type: str) -> str:
    """The driver's family; SettingsProblem if ``device_type`` (when given) is another."""
    family: str = CATALOGUE[driver]["family"]
    if device_type and family_of(device_type) != family:
        raise SettingsProblem(
            "driver_type_mismatch",
            "device_type",
            family,
            f"'device_type' {device_type!r} does not match driver {driver} "
            f"(a {FAMILIES[family][0]}: {family})",
            f"'device_type' {device_type!r} no corresponde al controlador {driver} "
            f"({FAMILIES[family][1]}: {family})",
        )
    return family


_TYPE_WORDS = {
    "str": ("text", "texto"),
    "int": ("a whole number", "un número entero"),
    "float": ("a number", "un número"),
    "bool": ("true or false", "verdadero o falso"),
    "map": ("a table of names and values", "una tabla de nombres y valores"),
}


def _type_ok(kind: str, value: Any) -> bool:
    if kind == "str":
        return isinstance(value, str)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "map":
        return isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, str | int | float | bool) for k, v in value.items()
        )
    return False


def check_settings(driver: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``settings`` (JSON-typed values) against the driver's schema; return them.

    The first problem raises SettingsProblem naming the setting and what is allowed.
    Unknown drivers raise ``unknown_driver``.
    """
    found = entry(driver)
    if found is None:
        resolve(driver)  # raises, naming the catalogue (or the old name's replacements)
        raise AssertionError("unreachable")
    schema: dict[str, dict[str, Any]] = found["settings"]
    for name in settings:
        if name not in schema:
            allowed = ", ".join(schema) or "-"
            raise SettingsProblem(
                "unknown_setting",
                name,
                allowed,
                f"'{name}' is not a setting of driver {driver} (its settings: {allowed})",
                f"'{name}' no es un ajuste del controlador {driver} (sus ajustes: {allowed})",
            )
    for name, rule in schema.items():
        if name not in settings:
            if rule["required"]:
                raise SettingsProblem(
                    "missing_setting",
                    name,
                    rule["en"],
                    f"'{name}' is required by driver {driver}: {rule['en']}",
                    f"'{name}' es obligatorio para el controlador {driver}: {rule['es']}",
                )
            continue
        _check_value(driver, name, rule, settings[name])
    return dict(settings)


def _check_value(driver: str, name: str, rule: dict[str, Any], value: Any) -> None:
    kind = rule["type"]
    if not _type_ok(kind, value):
        en, es = _TYPE_WORDS.get(kind, (kind, kind))
        raise SettingsProblem(
            "bad_setting",
            name,
            en,
            f"'{name}' must be {en}, got {value!r}",
            f"'{name}' debe ser {es}, se recibió {value!r}",
        )
    choices = rule.get("choices")
    if choices and value not in choices:
        allowed = ", ".join(str(c) for c in choices)
        raise SettingsProblem(
            "setting_not_allowed",
            name,
            allowed,
            f"'{name}' {value!r} is not supported by driver {driver} (allowed: {allowed})",
            f"'{name}' {value!r} no es admitido por el controlador {driver} "
            f"(valores admitidos: {allowed})",
        )
    low, high = rule.get("minimum"), rule.get("maximum")
    if kind in ("int", "float") and (
        (low is not None and value < low) or (high is not None and value > high)
    ):
        allowed = f"{'' if low is None else low}..{'' if high is None else high}"
        raise SettingsProblem(
            "setting_not_allowed",
            name,
            allowed,
            f"'{name}' {value!r} is out of range (allowed: {allowed})",
            f"'{name}' {value!r} está fuera de rango (admitido: {allowed})",
        )
    pattern = rule.get("pattern")
    if pattern and kind == "str" and not re.fullmatch(pattern, value):
        raise SettingsProblem(
            "bad_setting",
            name,
            rule["en"],
            f"'{name}' {value!r} is not valid: {rule['en']}",
            f"'{name}' {value!r} no es válido: {rule['es']}",
        )


def parse_text(driver: str, name: str, text: str) -> Any:
    """A setting typed by a person (CSV cell, console form) as its schema's type."""
    rule = (entry(driver) or {}).get("settings", {}).get(name)
    if rule is None:
        return text  # check_settings names the unknown setting
    kind, raw = rule["type"], text.strip()
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "bool":
            lowered = raw.lower()
            if lowered in ("true", "1", "yes", "sí", "si", "on"):
                return True
            if lowered in ("false", "0", "no", "off"):
                return False
            raise ValueError(raw)
        if kind == "map":
            value = json.loads(raw)
            if not isinstance(value, dict):
                raise ValueError(raw)
            return value
    except ValueError as exc:
        en, es = _TYPE_WORDS[kind]
        raise SettingsProblem(
            "bad_setting",
            name,
            en,
            f"'{name}' must be {en}, got {text!r}",
            f"'{name}' debe ser {es}, se recibió {text!r}",
        ) from exc
    return raw


def parse_settings_cell(driver: str, cell: str) -> dict[str, Any]:
    """A CSV ``settings`` cell: a JSON object, or ``name=value; name=value`` typed text."""
    cell = cell.strip()
    if not cell:
        return {}
    if cell.startswith("{"):
        try:
            value = json.loads(cell)
        except ValueError as exc:
            raise SettingsProblem(
                "bad_setting",
                "settings",
                "JSON object or name=value; name=value",
                f"'settings' is not valid JSON ({exc})",
                f"'settings' no es JSON válido ({exc})",
            ) from exc
        if not isinstance(value, dict):
            raise SettingsProblem(
                "bad_setting",
                "settings",
                "JSON object",
                "'settings' must be a JSON object",
                "'settings' debe ser un objeto JSON",
            )
        return value
    out: dict[str, Any] = {}
    for part in cell.split(";"):
        if not part.strip():
            continue
        name, sep, text = part.partition("=")
        if not sep or not name.strip():
            raise SettingsProblem(
                "bad_setting",
                "settings",
                "name=value; name=value",
                f"'settings' part {part.strip()!r} is not name=value",
                f"'settings': la parte {part.strip()!r} no es nombre=valor",
            )
        out[name.strip()] = parse_text(driver, name.strip(), text)
    return out
