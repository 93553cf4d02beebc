"""The vital-signs code table both sides read: IEEE 11073 MDC ↔ LOINC, UCUM units, limits.

Readings are keyed on the numeric MDC code (never the reference name). A
reading whose code is not here, whose unit is not one the parameter accepts,
or whose value is physiologically impossible is rejected with a reason code
(:class:`VitalReason`) and kept as a RejectedReading, never dropped.

Units arrive as UCUM text ("%", "mm[Hg]") or, from IEEE 11073 devices, as MDC
dimension reference ids or codes ("MDC_DIM_PERCENT", "262688"); both map here
to one canonical UCUM unit, with a linear conversion where units differ
("[degF]" → "Cel", "kPa" → "mm[Hg]").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

UCUM_SYSTEM = "http://unitsofmeasure.org"
LOINC_SYSTEM = "http://loinc.org"

# Telemedicine session bracket events: VitalSignsObservation.mode values.
MODE_SPOT = "spot"
MODE_STREAM = "stream"
MODE_SESSION_START = "session_start"
MODE_SESSION_STOP = "session_stop"
# Readings a person assigned to the case from the station's unassigned-readings inbox.
MODE_ASSIGNED = "assigned"
MODES = frozenset({MODE_SPOT, MODE_STREAM, MODE_SESSION_START, MODE_SESSION_STOP, MODE_ASSIGNED})


class VitalReason(StrEnum):
    UNKNOWN_CODE = "unknown_code"
    UNKNOWN_UNIT = "unknown_unit"
    IMPOSSIBLE_VALUE = "impossible_value"
    NOT_A_NUMBER = "not_a_number"
    # What an HL7 driver could not read in an OBX row (drivers/vitals/hl7_pcd01.py).
    UNKNOWN_VALUE_TYPE = "unknown_value_type"
    MISSING_VALUE_TYPE = "missing_value_type"
    BAD_CODE = "bad_code"


@dataclass(frozen=True)
class Parameter:
    """One vital sign: its MDC codes, LOINC code(s), canonical UCUM unit and plausible range."""

    key: str
    mdc_codes: tuple[int, ...]
    refid: str
    loinc: str
    display: str
    unit: str  # canonical UCUM
    low: float
    high: float
    # Further LOINC codes the FHIR profile asks for (SpO2: 2708-6 next to 59408-5).
    extra_loinc: tuple[tuple[str, str], ...] = ()
    # FHIR R4 vital-signs profile of this parameter ("" = none of its own).
    profile: str = ""
    panel: str = ""  # key of the panel this is a component of (NIBP)


_VS = "http://hl7.org/fhir/StructureDefinition/"

PARAMETERS: tuple[Parameter, ...] = (
    Parameter(
        "spo2",
        (150456,),
        "MDC_PULS_OXIM_SAT_O2",
        "59408-5",
        "Oxygen saturation in Arterial blood by Pulse oximetry",
        "%",
        0.0,
        100.0,
        extra_loinc=(("2708-6", "Oxygen saturation in Arterial blood"),),
        profile=_VS + "oxygensat",
    ),
    Parameter(
        "heart_rate",
        (147842, 149514, 149530, 149546),
        "MDC_PULS_OXIM_PULS_RATE",
        "8867-4",
        "Heart rate",
        "/min",
        1.0,
        350.0,
        profile=_VS + "heartrate",
    ),
    Parameter(
        "bp_systolic",
        (150021, 150301),
        "MDC_PRESS_BLD_NONINV_SYS",
        "8480-6",
        "Systolic blood pressure",
        "mm[Hg]",
        20.0,
        300.0,
        panel="bp",
    ),
    Parameter(
        "bp_diastolic",
        (150022, 150302),
        "MDC_PRESS_BLD_NONINV_DIA",
        "8462-4",
        "Diastolic blood pressure",
        "mm[Hg]",
        5.0,
        250.0,
        panel="bp",
    ),
    Parameter(
        "bp_mean",
        (150023, 150303),
        "MDC_PRESS_BLD_NONINV_MEAN",
        "8478-0",
        "Mean blood pressure",
        "mm[Hg]",
        10.0,
        270.0,
        panel="bp",
    ),
    Parameter(
        "body_temperature",
        (150344, 150364),
        "MDC_TEMP_BODY",
        "8310-5",
        "Body temperature",
        "Cel",
        25.0,
        45.0,
        profile=_VS + "bodytemp",
    ),
    Parameter(
        "respiratory_rate",
        (151562, 151578, 151594),
        "MDC_RESP_RATE",
        "9279-1",
        "Respiratory rate",
        "/min",
        0.0,
        150.0,
        profile=_VS + "resprate",
    ),
    Parameter(
        "perfusion_index",
        (150488,),
        "MDC_PULS_OXIM_PERF_REL",
        "61006-3",
        "Perfusion index Tissue by Pulse oximetry",
        "%",
        0.0,
        30.0,
    ),
)

# The NIBP panel (150020, cuff 150300): never a value of its own, the parent of the components.
BP_PANEL_MDC = (150020, 150300)
BP_PANEL_LOINC = "85354-9"
BP_PANEL_DISPLAY = "Blood pressure panel with all children optional"
BP_PROFILE = _VS + "bp"
VITAL_SIGNS_PROFILE = _VS + "vitalsigns"

BY_MDC: dict[int, Parameter] = {code: p for p in PARAMETERS for code in p.mdc_codes}
BY_KEY: dict[str, Parameter] = {p.key: p for p in PARAMETERS}
BY_LOINC: dict[str, Parameter] = {p.loinc: p for p in PARAMETERS}

# Unit as sent → (canonical UCUM, factor, offset): canonical = value * factor + offset.
_UNIT_ALIASES: dict[str, tuple[str, float, float]] = {
    "%": ("%", 1.0, 0.0),
    "MDC_DIM_PERCENT": ("%", 1.0, 0.0),
    "262688": ("%", 1.0, 0.0),
    "/min": ("/min", 1.0, 0.0),
    "{beats}/min": ("/min", 1.0, 0.0),
    "{breaths}/min": ("/min", 1.0, 0.0),
    "bpm": ("/min", 1.0, 0.0),
    "MDC_DIM_BEAT_PER_MIN": ("/min", 1.0, 0.0),
    "264864": ("/min", 1.0, 0.0),
    "MDC_DIM_RESP_PER_MIN": ("/min", 1.0, 0.0),
    "264928": ("/min", 1.0, 0.0),
    "mm[Hg]": ("mm[Hg]", 1.0, 0.0),
    "mmHg": ("mm[Hg]", 1.0, 0.0),
    "MDC_DIM_MMHG": ("mm[Hg]", 1.0, 0.0),
    "266016": ("mm[Hg]", 1.0, 0.0),
    "kPa": ("mm[Hg]", 7.500615758, 0.0),
    "MDC_DIM_KILO_PASCAL": ("mm[Hg]", 7.500615758, 0.0),
    "Cel": ("Cel", 1.0, 0.0),
    "MDC_DIM_DEGC": ("Cel", 1.0, 0.0),
    "268192": ("Cel", 1.0, 0.0),
    "[degF]": ("Cel", 5 / 9, -32 * 5 / 9),
    "MDC_DIM_FAHR": ("Cel", 5 / 9, -32 * 5 / 9),
    "266560": ("Cel", 5 / 9, -32 * 5 / 9),
}


@dataclass(frozen=True)
class Normalised:
    parameter: Parameter
    mdc_code: int
    value: float
    unit: str  # canonical UCUM


@dataclass(frozen=True)
class Rejection:
    reason_code: VitalReason
    reason: str  # English / Spanish


def canonical_unit(unit: str) -> tuple[str, float, float] | None:
    return _UNIT_ALIASES.get(unit.strip())


def normalise(mdc_code: int, value: float, unit: str) -> Normalised | Rejection:
    """Map one reading to its parameter and canonical UCUM unit, or say why it cannot be."""
    code = mdc_code & 0xFFFFFFFF
    parameter = BY_MDC.get(code) or BY_MDC.get(code & 0xFFFF | (2 << 16))
    if parameter is None:
        return Rejection(
            VitalReason.UNKNOWN_CODE,
            f"MDC code {mdc_code} is not a known vital sign / "
            f"el código MDC {mdc_code} no es un signo vital conocido",
        )
    if not isinstance(value, int | float) or math.isnan(value) or math.isinf(value):
        return Rejection(
            VitalReason.NOT_A_NUMBER,
            f"{parameter.key}: value {value!r} is not a number / el valor no es un número",
        )
    mapped = canonical_unit(unit)
    if mapped is None or mapped[0] != parameter.unit:
        return Rejection(
            VitalReason.UNKNOWN_UNIT,
            f"{parameter.key}: unit {unit!r} is not accepted (expected {parameter.unit}) / "
            f"unidad {unit!r} no aceptada (se espera {parameter.unit})",
        )
    canonical, factor, offset = mapped
    converted = round(value * factor + offset, 3) if factor != 1.0 or offset else float(value)
    if not parameter.low <= converted <= parameter.high:
        return Rejection(
            VitalReason.IMPOSSIBLE_VALUE,
            f"{parameter.key} {converted:g} {canonical} is outside {parameter.low:g}-"
            f"{parameter.high:g} / {parameter.key} {converted:g} {canonical} fuera del rango "
            "fisiológico posible",
        )
    return Normalised(parameter, code, converted, canonical)
