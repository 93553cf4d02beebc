"""Driver readings to contract readings: the one place units are made canonical and checked."""

from __future__ import annotations

from collections.abc import Iterable

from drivers.vitals.base import NumericReading
from edge_agent.events import timestamp
from protos import events_pb2
from protos.vitals_codes import Rejection, VitalReason, normalise

_PROBLEMS: dict[str, str] = {  # VitalReason is a StrEnum: its members are the str keys
    VitalReason.NOT_A_NUMBER: "value is not a number / el valor no es un número",
    VitalReason.UNKNOWN_VALUE_TYPE: "value type not in HL7 table 0125 / "
    "tipo de valor fuera de la tabla 0125 de HL7",
    VitalReason.MISSING_VALUE_TYPE: "value type missing / falta el tipo de valor",
    VitalReason.BAD_CODE: "code is not an MDC numeric code / el código no es un código MDC",
}


def map_reading(
    r: NumericReading,
) -> tuple[events_pb2.Reading, events_pb2.RejectedReading | None]:
    """The contract Reading of ``r`` and, when the table refuses it, its RejectedReading."""
    if r.problem:  # the driver could not read the row (e.g. "abc" in an NM value)
        raw = _pb(r, r.mdc_code, 0.0, r.unit)
        return raw, events_pb2.RejectedReading(
            reading=raw,
            reason_code=r.problem,
            reason=f"{r.source or 'reading'}: {_PROBLEMS.get(r.problem, r.problem)} "
            f"({r.raw_value!r})",
            raw_value=r.raw_value,
        )
    result = normalise(r.mdc_code, r.value, r.unit)
    if isinstance(result, Rejection):
        raw = _pb(r, r.mdc_code, r.value, r.unit)
        return raw, events_pb2.RejectedReading(
            reading=raw, reason_code=result.reason_code.value, reason=result.reason
        )
    return _pb(r, result.mdc_code, result.value, result.unit), None


def map_readings(
    readings: Iterable[NumericReading],
) -> tuple[list[events_pb2.Reading], list[events_pb2.RejectedReading]]:
    accepted: list[events_pb2.Reading] = []
    rejected: list[events_pb2.RejectedReading] = []
    for r in readings:
        reading, refused = map_reading(r)
        if refused is None:
            accepted.append(reading)
        else:
            rejected.append(refused)
    return accepted, rejected


def _pb(r: NumericReading, code: int, value: float, unit: str) -> events_pb2.Reading:
    reading = events_pb2.Reading(
        mdc_code=code,
        mdc_refid=r.mdc_refid,
        value=value,
        unit=unit,
        containment=r.containment,
        flags=r.flags,
        equipment=r.equipment,
    )
    reading.measured_at.CopyFrom(timestamp(r.measured_at))
    return reading
