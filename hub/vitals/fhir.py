"""FHIR export of vital signs: one Observation per reading (BP as a panel), its Device, sessions.

Every accepted reading of every source is its own Observation: two heart rates
in one set (an ECG's and a pulse oximeter's) are two Observations, each with
``device`` (a reference to a Device resource in the Bundle, one per measuring
equipment) and ``method`` (the IEEE 11073 MDC code the device measured, e.g.
MDC_ECG_HEART_RATE vs MDC_PULS_OXIM_PULS_RATE). Nothing is merged by code.
Systolic, diastolic and mean pressure of one cuff cycle (same set, equipment and
time) make one BP panel; a cycle without both systolic and diastolic is exported
as separate Observations rather than as a panel the profile would refuse.

Every ``fullUrl`` is ``urn:uuid:`` + an RFC 4122 UUID (version 5, derived from
the event id and the reading, so an export repeated later names the same
resources), and references inside the Bundle use those URNs. The resources
use only elements that R4 (4.0.1) and R4B (4.3.0) share: the Bundle validates
with fhir.resources' R4B models here and with an R4 model set in the tests
(fhir.resources 8 ships R5 at top level, R4B and STU3 as subpackages, no R4).

fhir.resources checks structure only; :func:`check_observation` adds what the
vital-signs profile asks and the library does not check: the LOINC code is one
of ours, the unit is the canonical UCUM unit of that code in the UCUM system,
the subject names the patient, the category is vital-signs, the BP panel has
systolic and diastolic components.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.device import Device
from fhir.resources.R4B.deviceusestatement import DeviceUseStatement
from fhir.resources.R4B.observation import Observation

from hub.storage.readings import SessionSpan, StoredReading, VitalSet
from protos.vitals_codes import (
    BP_PANEL_DISPLAY,
    BP_PANEL_LOINC,
    BP_PROFILE,
    BY_KEY,
    BY_LOINC,
    LOINC_SYSTEM,
    UCUM_SYSTEM,
    VITAL_SIGNS_PROFILE,
)

PATIENT_ID_SYSTEM = "urn:puente:patient-id"  # affiliation number (número de afiliación)
CASE_ID_SYSTEM = "urn:puente:case-id"
EVENT_ID_SYSTEM = "urn:puente:event-id"
DEVICE_ID_SYSTEM = "urn:puente:device"
EUI64_SYSTEM = "urn:ietf:rfc:7042"  # IEEE EUI-64 as in IHE PCD
MDC_SYSTEM = "urn:iso:std:iso:11073:10101"  # IEEE 11073-10101 nomenclature, as FHIR names it
# The namespace of the export's version-5 UUIDs (a fixed, random UUID: never change it, or
# the same reading gets another fullUrl in the next export).
EXPORT_NAMESPACE = uuid.UUID("6f1d2c8e-5b7a-4c39-9e0f-3a2b1c4d5e6f")
_EUI64 = re.compile(r"[0-9A-Fa-f]{16}")
_BP_ORDER = ("bp_systolic", "bp_diastolic", "bp_mean")
# What the device's MDC code says about the method, for the reader of the export.
METHOD_TEXT: dict[int, str] = {
    147842: "ECG",
    149514: "Pulse rate",
    149530: "Pulse oximetry",
    149546: "Non-invasive blood pressure cuff",
    150456: "Pulse oximetry",
    150488: "Pulse oximetry",
    150021: "Non-invasive blood pressure cuff",
    150022: "Non-invasive blood pressure cuff",
    150023: "Non-invasive blood pressure cuff",
    150301: "Non-invasive blood pressure cuff",
    150302: "Non-invasive blood pressure cuff",
    150303: "Non-invasive blood pressure cuff",
    151562: "Respiration",
    151578: "Respiration (impedance)",
    151594: "Respiration (airway flow)",
}
CATEGORY = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs",
            "display": "Vital Signs",
        }
    ]
}


class ExportError(Exception):
    code = "export_invalid"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _subject(patient_id: str) -> dict[str, Any]:
    return {
        "identifier": {"system": PATIENT_ID_SYSTEM, "value": patient_id},
        "display": f"Patient {patient_id}",
    }


def urn(*parts: str) -> str:
    """``urn:uuid:`` + the RFC 4122 version-5 UUID of ``parts`` in Puente's export namespace."""
    return f"urn:uuid:{uuid.uuid5(EXPORT_NAMESPACE, '/'.join(parts))}"


def _uuid(ref: str) -> str:
    return ref.removeprefix("urn:uuid:")


def _identifier(
    station_id: str, device_id: str, monitor: dict[str, str], equipment: str
) -> dict[str, str]:
    """The identifier of the equipment that measured: EUI-64 where known, else station/device."""
    if equipment and _EUI64.fullmatch(equipment):
        return {"system": EUI64_SYSTEM, "value": equipment.upper()}
    if equipment:
        return {"system": DEVICE_ID_SYSTEM, "value": f"{station_id}/{device_id}/{equipment}"}
    if monitor.get("eui64"):
        return {"system": EUI64_SYSTEM, "value": monitor["eui64"]}
    return {
        "system": DEVICE_ID_SYSTEM,
        "value": f"{station_id}/{device_id}"
        + (f"/{monitor['serial']}" if monitor.get("serial") else ""),
    }


def device_resource(ident: dict[str, str], monitor: dict[str, str], own: bool) -> Device:
    """A Device for one identifier; ``own``: it is the set's monitor, so its model is known."""
    data: dict[str, Any] = {
        "resourceType": "Device",
        "id": _uuid(urn("device", ident["system"], ident["value"])),
        "identifier": [ident],
    }
    if own:
        if monitor.get("vendor"):
            data["manufacturer"] = monitor["vendor"]
        if monitor.get("model"):
            data["deviceName"] = [{"name": monitor["model"], "type": "model-name"}]
            data["modelNumber"] = monitor["model"]
        if monitor.get("serial"):
            data["serialNumber"] = monitor["serial"]
    return Device.model_validate(data)


class Devices:
    """The Device resources of one export, one per measuring equipment, in first-seen order."""

    def __init__(self) -> None:
        self.by_ref: dict[str, Device] = {}

    def ref(self, vset: VitalSet | SessionSpan, equipment: str = "") -> dict[str, Any]:
        own_eui = vset.monitor.get("eui64", "").upper()
        own = not equipment or equipment.upper() == own_eui
        ident = _identifier(vset.station_id, vset.device_id, vset.monitor, "" if own else equipment)
        ref = urn("device", ident["system"], ident["value"])
        if ref not in self.by_ref:
            self.by_ref[ref] = device_resource(ident, vset.monitor, own)
        display = " ".join(x for x in (vset.monitor.get("vendor"), vset.monitor.get("model")) if x)
        out: dict[str, Any] = {"reference": ref}
        if own and display:
            out["display"] = display
        elif not own:
            out["display"] = f"{equipment} ({display or vset.device_id})"
        return out


def _quantity(r: StoredReading) -> dict[str, Any]:
    return {"value": r.value, "unit": r.unit, "system": UCUM_SYSTEM, "code": r.unit}


def _code(loinc: str, display: str, extra: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    coding = [{"system": LOINC_SYSTEM, "code": loinc, "display": display}]
    coding += [{"system": LOINC_SYSTEM, "code": c, "display": d} for c, d in extra]
    return {"coding": coding, "text": display}


def _method(r: StoredReading) -> dict[str, Any]:
    """How it was measured: the device's own MDC code (ECG heart rate vs pulse-oximetry rate)."""
    coding = {"system": MDC_SYSTEM, "code": str(r.mdc_code)}
    if r.mdc_refid:
        coding["display"] = r.mdc_refid
    text = METHOD_TEXT.get(r.mdc_code)
    return {"coding": [coding], **({"text": text} if text else {})}


def _reading_key(r: StoredReading) -> str:
    return f"{r.mdc_code}@{r.measured_at}" + (f"@{r.equipment}" if r.equipment else "")


def observations(
    vset: VitalSet, readings: list[StoredReading], devices: Devices | None = None
) -> list[Observation]:
    """The Observations of one observation set: one per accepted reading, BP cycles as panels."""
    devices = devices if devices is not None else Devices()
    base: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": [CATEGORY],
        "subject": _subject(vset.patient_id),
        "encounter": {"identifier": {"system": CASE_ID_SYSTEM, "value": vset.case_id}},
    }
    accepted = [r for r in readings if r.status == "accepted" and r.parameter]
    cycles: dict[tuple[str, str], list[StoredReading]] = {}
    singles: list[StoredReading] = []
    for r in accepted:
        if BY_KEY[r.parameter].panel == "bp":
            cycles.setdefault((r.equipment, r.measured_at), []).append(r)
        else:
            singles.append(r)
    out: list[Observation] = []
    used: set[str] = set()

    def ident(key: str) -> tuple[str, list[dict[str, str]]]:
        n, unique = 0, key
        while unique in used:  # the same code twice at the same instant: still two facts
            n += 1
            unique = f"{key}#{n}"
        used.add(unique)
        return _uuid(urn("observation", vset.event_id, unique)), [
            {"system": EVENT_ID_SYSTEM, "value": f"{vset.event_id}/{unique}"}
        ]

    for (equipment, at), bp in cycles.items():
        present = {r.parameter for r in bp}
        if not {"bp_systolic", "bp_diastolic"} <= present:
            singles.extend(bp)  # a half pressure is kept, never passed off as a panel
            continue
        bp.sort(key=lambda r: _BP_ORDER.index(r.parameter))
        obs_id, identifier = ident("bp@" + at + (f"@{equipment}" if equipment else ""))
        out.append(
            Observation.model_validate(
                base
                | {
                    "id": obs_id,
                    "identifier": identifier,
                    "meta": {"profile": [VITAL_SIGNS_PROFILE, BP_PROFILE]},
                    "code": _code(BP_PANEL_LOINC, BP_PANEL_DISPLAY),
                    "effectiveDateTime": at,
                    "device": devices.ref(vset, equipment),
                    "method": _method(bp[0]),
                    "component": [
                        {
                            "code": _code(BY_KEY[r.parameter].loinc, BY_KEY[r.parameter].display),
                            "valueQuantity": _quantity(r),
                        }
                        for r in bp
                    ],
                }
            )
        )
    for r in singles:
        p = BY_KEY[r.parameter]
        profiles = [VITAL_SIGNS_PROFILE] + ([p.profile] if p.profile else [])
        obs_id, identifier = ident(_reading_key(r))
        out.append(
            Observation.model_validate(
                base
                | {
                    "id": obs_id,
                    "identifier": identifier,
                    "meta": {"profile": profiles},
                    "code": _code(p.loinc, p.display, p.extra_loinc),
                    "effectiveDateTime": r.measured_at,
                    "device": devices.ref(vset, r.equipment),
                    "method": _method(r),
                    "valueQuantity": _quantity(r),
                }
            )
        )
    for obs in out:
        check_observation(obs)
    return out


def device_use(span: SessionSpan, devices: Devices | None = None) -> DeviceUseStatement:
    """The device association of a telemedicine session with its time span."""
    devices = devices if devices is not None else Devices()
    period: dict[str, str] = {"start": span.started_at}
    if span.stopped_at:
        period["end"] = span.stopped_at
    return DeviceUseStatement.model_validate(
        {
            "resourceType": "DeviceUseStatement",
            "id": _uuid(urn("session", span.session_id)),
            "status": "completed" if span.stopped_at else "active",
            "subject": _subject(span.patient_id),
            "device": devices.ref(span),
            "timingPeriod": period,
            "identifier": [{"system": "urn:puente:session-id", "value": span.session_id}],
        }
    )


def check_observation(obs: Observation) -> None:
    """Raise ExportError unless ``obs`` meets what the vital-signs profile asks of us."""
    problems: list[str] = []
    codes = [c.code for c in obs.code.coding or [] if c.system == LOINC_SYSTEM]
    if not codes:
        problems.append("no LOINC code")
    if not obs.category or not any(
        c.code == "vital-signs" for cat in obs.category for c in cat.coding or []
    ):
        problems.append("category is not vital-signs")
    subject = obs.subject
    if subject is None or not (
        subject.reference or (subject.identifier and subject.identifier.value)
    ):
        problems.append("no subject")
    if obs.effectiveDateTime is None:
        problems.append("no effective time")
    if codes and codes[0] == BP_PANEL_LOINC:
        comp = {
            c.code.coding[0].code: c
            for c in obs.component or []
            if c.code.coding and c.code.coding[0].code  # one without a code counts as missing
        }
        for needed in ("8480-6", "8462-4"):
            if needed not in comp:
                problems.append(f"BP panel without component {needed}")
        for code, c in comp.items():
            problems += _quantity_problems(code, c.valueQuantity)
    elif codes:
        if codes[0] not in BY_LOINC:
            problems.append(f"LOINC {codes[0]} is not a vital sign of the table")
        else:
            problems += _quantity_problems(codes[0], obs.valueQuantity)
    if problems:
        raise ExportError(
            f"Observation {obs.id}: "
            + "; ".join(problems)
            + " / la observación no cumple el perfil"
        )


def _quantity_problems(loinc: str, q: Any) -> list[str]:
    p = BY_LOINC.get(loinc)
    if p is None:
        return [f"component LOINC {loinc} unknown"]
    if q is None or q.value is None:
        return [f"{loinc}: no value"]
    out = []
    if q.system != UCUM_SYSTEM or q.code != p.unit:
        out.append(f"{loinc}: unit {q.system}|{q.code} is not {UCUM_SYSTEM}|{p.unit}")
    if not p.low <= float(q.value) <= p.high:
        out.append(f"{loinc}: value {q.value} outside {p.low:g}-{p.high:g}")
    return out


def bundle(sets: list[tuple[VitalSet, list[StoredReading]]], sessions: list[SessionSpan]) -> Bundle:
    """A collection Bundle: every Observation, the Devices they name, the sessions."""
    devices = Devices()
    entries: list[dict[str, Any]] = []
    for vset, readings in sets:
        for obs in observations(vset, readings, devices):
            entries.append({"fullUrl": f"urn:uuid:{obs.id}", "resource": obs})
    for span in sessions:
        use = device_use(span, devices)
        entries.append({"fullUrl": f"urn:uuid:{use.id}", "resource": use})
    for ref, device in devices.by_ref.items():
        entries.append({"fullUrl": ref, "resource": device})
    return Bundle.model_validate({"resourceType": "Bundle", "type": "collection", "entry": entries})
