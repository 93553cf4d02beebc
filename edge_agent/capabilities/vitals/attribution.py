"""Which readings may reach a case: the time window and patient rules of takes and streams.

A reading belongs to the take or stream (a *claim*) running on its device when

1. it arrived at the station after the claim started (what was already waiting at the
   port or in the MLLP queue when the claim began was measured before it);
2. it was measured no earlier than ``start_tolerance_s`` before the claim started and no
   later than ``start_tolerance_s`` after now (monitor and station clocks differ a little);
3. it was measured at most ``max_age_s`` before it reached the station (else "stale");
4. when the message names a patient: one of its PID-3 identifiers is the claim's
   patient_id, and its PID-5 name, when both sides have one, is the claim's patient name.
   A message naming a patient by name only, for a claim that gave no name, cannot be
   verified and is not attached.

Anything else goes to the device's unassigned-readings inbox (``vitals_inbox``) with the
reason code of the first rule it broke. This module also holds the agent's review of an
HL7 message's readings (code table, units, limits, blood-pressure completeness) that the
HL7 drivers answer in their ACK.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from drivers.vitals.base import NumericReading
from edge_agent.capabilities.vitals.settings import VitalsSettings
from protos.vitals_codes import BY_MDC, Rejection, VitalReason, normalise

STALE = "stale"
BP_INCOMPLETE = "bp_incomplete"

# Reason code → English / Spanish, shown at the station and kept with the entry.
REASONS: dict[str, str] = {
    "no_take": "arrived while no take or stream ran on this device / "
    "llegó sin toma ni transmisión en curso en este dispositivo",
    "before_start": "measured or received before the take/stream started / "
    "medida o recibida antes de iniciar la toma o transmisión",
    STALE: "older than the allowed age when it reached the station / "
    "más antigua que la edad permitida al llegar a la estación",
    "future": "measured in the future by the station's clock (monitor clock wrong?) / "
    "medida en el futuro según el reloj de la estación (¿reloj del monitor?)",
    "patient_mismatch": "the monitor names another patient than the case's / "
    "el monitor nombra a otro paciente que el del caso",
    "patient_unverified": "the monitor names a patient the take cannot compare / "
    "el monitor nombra a un paciente que la toma no puede comparar",
}


@dataclass(frozen=True)
class Claim:
    """A take or stream running on a device, for one case and patient."""

    kind: str  # "take" | "stream"
    ref: str  # take or session id
    device_id: str
    case_id: str
    patient_id: str
    patient_name: str  # "family^given" or "" when the caller gave none
    started_at: datetime


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).lower().split())


def same_name(a: str, b: str) -> bool:
    """HL7 "family^given" names: same family and, when both have one, same first given name."""
    fa, _, ga = a.partition("^")
    fb, _, gb = b.partition("^")
    if _fold(fa) != _fold(fb):
        return False
    ga_first, gb_first = _fold(ga).split()[:1], _fold(gb).split()[:1]
    return not ga_first or not gb_first or ga_first == gb_first


def patient_problem(r: NumericReading, claim: Claim) -> str | None:
    ids = tuple(i.strip() for i in r.patient_ids if i.strip())
    if ids and claim.patient_id not in ids:
        return "patient_mismatch"
    if r.patient_name:
        if claim.patient_name:
            if not same_name(r.patient_name, claim.patient_name):
                return "patient_mismatch"
        elif not ids:
            return "patient_unverified"
    return None


def judge(
    r: NumericReading, claim: Claim, settings: VitalsSettings, now: datetime | None = None
) -> str | None:
    """None when ``r`` belongs to ``claim``; else the reason code (see :data:`REASONS`)."""
    now = now or datetime.now(UTC)
    problem = patient_problem(r, claim)
    if problem:
        return problem
    received = r.received_at or now
    if received - r.measured_at > timedelta(seconds=settings.max_age_s):
        return STALE
    tolerance = timedelta(seconds=settings.start_tolerance_s)
    if received < claim.started_at or r.measured_at < claim.started_at - tolerance:
        return "before_start"
    if r.measured_at > now + tolerance:
        return "future"
    return None


def is_stale(r: NumericReading, settings: VitalsSettings, now: datetime | None = None) -> bool:
    received = r.received_at or now or datetime.now(UTC)
    return received - r.measured_at > timedelta(seconds=settings.max_age_s)


def flagged(r: NumericReading, flag: str) -> NumericReading:
    return r if flag in r.flags else dataclasses.replace(r, flags=(*r.flags, flag))


# -- the agent's review of one HL7 message (answered in its ACK) ----------------------------

_SYSTOLIC = frozenset({150021, 150301})
_DIASTOLIC = frozenset({150022, 150302})
# VitalReason → (OBX field, HL7 table 0357 code)
_LOCATION = {
    VitalReason.UNKNOWN_CODE: (3, 103),
    VitalReason.UNKNOWN_UNIT: (6, 103),
    VitalReason.IMPOSSIBLE_VALUE: (5, 207),
    VitalReason.NOT_A_NUMBER: (5, 102),
}


def review(
    readings: list[NumericReading],
) -> tuple[list[NumericReading], list[tuple[int, int, int, str, str, str]]]:
    """The HL7 drivers' ``Review``: problems of one message's readings, and BP flags.

    Every reading the code table refuses is located (unknown code: OBX-3, table 0357 code
    103; unit: OBX-6, 103; impossible value: OBX-5, 207). A systolic without a readable
    diastolic of the same message (or the reverse) is passed on flagged ``bp_incomplete``
    and reported (101, severity W) — it never lands looking like a whole blood pressure.
    """
    problems: list[tuple[int, int, int, str, str, str]] = []
    good: set[int] = set()
    for i, r in enumerate(readings):
        if r.problem:
            continue  # the driver reported it already
        result = normalise(r.mdc_code, r.value, r.unit)
        if isinstance(result, Rejection):
            field_num, code = _LOCATION.get(result.reason_code, (5, 207))
            problems.append((i, field_num, code, result.reason_code.value, result.reason, "E"))
        else:
            good.add(result.mdc_code)
    out = list(readings)
    has_sys, has_dia = bool(good & _SYSTOLIC), bool(good & _DIASTOLIC)
    if has_sys != has_dia:
        missing = "diastolic" if has_sys else "systolic"
        present = _SYSTOLIC if has_sys else _DIASTOLIC
        for i, r in enumerate(readings):
            if r.mdc_code in present and not r.problem:
                out[i] = flagged(r, BP_INCOMPLETE)
                problems.append(
                    (
                        i,
                        3,
                        101,
                        BP_INCOMPLETE,
                        f"blood pressure without a readable {missing} value / "
                        f"presión arterial sin valor {'diastólico' if has_sys else 'sistólico'} "
                        "legible",
                        "W",
                    )
                )
    return out, problems


def parameter_name(r: NumericReading) -> str:
    p = BY_MDC.get(r.mdc_code)
    return p.key if p else (r.mdc_refid or str(r.mdc_code))
