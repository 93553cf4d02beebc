"""FHIR R4B export: vital-signs Observations (BP as a panel) and DeviceUseStatements per session.

fhir.resources checks structure only; :func:`check_observation` adds what the
vital-signs profile asks and the library does not check: the LOINC code is one
of ours, the unit is the canonical UCUM unit of that code in the UCUM system,
the subject names the patient, the category is vital-signs, the BP panel has
systolic and diastolic components.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.bundle import Bundle
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


def _device(vset: VitalSet) -> dict[str, Any]:
    m = vset.monitor
    if m.get("eui64"):
        ident = {"system": EUI64_SYSTEM, "value": m["eui64"]}
    else:
        ident = {
            "system": DEVICE_ID_SYSTEM,
            "value": f"{vset.station_id}/{vset.device_id}"
            + (f"/{m['serial']}" if m.get("serial") else ""),
        }
    display = " ".join(x for x in (m.get("vendor", ""), m.get("model", "")) if x)
    return {"identifier": ident, **({"display": display} if display else {})}


def _quantity(r: StoredReading) -> dict[str, Any]:
    return {"value": r.value, "unit": r.unit, "system": UCUM_SYSTEM, "code": r.unit}


def _code(loinc: str, display: str, extra: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    coding = [{"system": LOINC_SYSTEM, "code": loinc, "display": display}]
    coding += [{"system": LOINC_SYSTEM, "code": c, "display": d} for c, d in extra]
    return {"coding": coding, "text": display}


def observations(vset: VitalSet, readings: list[StoredReading]) -> list[Observation]:
    """The Observations of one observation set (latest value per parameter)."""
    latest: dict[str, StoredReading] = {}
    for r in readings:
        if r.status == "accepted" and r.parameter:
            latest[r.parameter] = r
    base: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": [CATEGORY],
        "subject": _subject(vset.patient_id),
        "encounter": {"identifier": {"system": CASE_ID_SYSTEM, "value": vset.case_id}},
        "device": _device(vset),
    }
    out: list[Observation] = []
    bp = [latest.pop(k) for k in ("bp_systolic", "bp_diastolic", "bp_mean") if k in latest]
    if bp:
        components = [
            {
                "code": _code(BY_KEY[r.parameter].loinc, BY_KEY[r.parameter].display),
                "valueQuantity": _quantity(r),
            }
            for r in bp
        ]
        out.append(
            Observation.model_validate(
                base
                | {
                    "id": _id(vset.event_id, "bp"),
                    "meta": {"profile": [VITAL_SIGNS_PROFILE, BP_PROFILE]},
                    "identifier": [{"system": EVENT_ID_SYSTEM, "value": f"{vset.event_id}/bp"}],
                    "code": _code(BP_PANEL_LOINC, BP_PANEL_DISPLAY),
                    "effectiveDateTime": bp[0].measured_at,
                    "component": components,
                }
            )
        )
    for key, r in latest.items():
        p = BY_KEY[key]
        profiles = [VITAL_SIGNS_PROFILE] + ([p.profile] if p.profile else [])
        out.append(
            Observation.model_validate(
                base
                | {
                    "id": _id(vset.event_id, key),
                    "meta": {"profile": profiles},
                    "identifier": [{"system": EVENT_ID_SYSTEM, "value": f"{vset.event_id}/{key}"}],
                    "code": _code(p.loinc, p.display, p.extra_loinc),
                    "effectiveDateTime": r.measured_at,
                    "valueQuantity": _quantity(r),
                }
            )
        )
    for obs in out:
        check_observation(obs)
    return out


def _id(event_id: str, key: str) -> str:
    return f"{event_id}-{key.replace('_', '-')}"[:64]


def device_use(span: SessionSpan) -> DeviceUseStatement:
    """The device association of a telemedicine session with its time span."""
    period: dict[str, str] = {"start": span.started_at}
    if span.stopped_at:
        period["end"] = span.stopped_at
    m = span.monitor
    ident = (
        {"system": EUI64_SYSTEM, "value": m["eui64"]}
        if m.get("eui64")
        else {"system": DEVICE_ID_SYSTEM, "value": f"{span.station_id}/{span.device_id}"}
    )
    return DeviceUseStatement.model_validate(
        {
            "resourceType": "DeviceUseStatement",
            "id": span.session_id,
            "status": "completed" if span.stopped_at else "active",
            "subject": _subject(span.patient_id),
            "device": {"identifier": ident},
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
        comp = {c.code.coding[0].code: c for c in obs.component or []}
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
    entries: list[dict[str, Any]] = []
    for vset, readings in sets:
        for obs in observations(vset, readings):
            entries.append({"fullUrl": f"urn:uuid:{obs.id}", "resource": obs})
    for span in sessions:
        entries.append({"fullUrl": f"urn:uuid:{span.session_id}", "resource": device_use(span)})
    return Bundle.model_validate({"resourceType": "Bundle", "type": "collection", "entry": entries})
