"""Driver readings to contract readings: the one place units are made canonical and checked."""

from __future__ import annotations

from collections.abc import Iterable

from drivers.vitals.base import NumericReading
from edge_agent.events import timestamp
from protos import events_pb2
from protos.vitals_codes import Rejection, normalise


def map_reading(
    r: NumericReading,
) -> tuple[events_pb2.Reading, events_pb2.RejectedReading | None]:
    """The contract Reading of ``r`` and, when the table refuses it, its RejectedReading."""
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
