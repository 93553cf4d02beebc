"""The "stable set" rule of take-vitals: read until every parameter has settled, or the timeout.

A parameter has settled when two consecutive readings of it (same MDC code)
differ by no more than its tolerance, compared in canonical UCUM units:

    SpO2 1 %, pulse/heart rate 5 /min, temperature 0.1 Cel, respiratory rate 2 /min,
    perfusion index 0.5 %; anything else: equal values.

Non-invasive blood pressure (150020-150023, cuff 150300-150303) and the pulse
rate of the cuff (149546) are one measurement per cuff cycle: the monitor
sends them when the cycle ends, so their first value is final. A reading the
code table refuses (unknown code or unit, impossible value) never holds the
set back; it is reported as rejected.

The set is complete when every parameter seen so far has settled and the
monitor has gone once round its output (some parameter was seen twice), so a
parameter sent later in the monitor's cycle is not missed. A device that sends
one message per measurement and nothing else (a BP cuff alone) ends the set at
the timeout, its values final. At the timeout the latest value of each
parameter is taken, and those that had not settled carry the flag
``unsettled``. The latest reading of a parameter is the one recorded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from drivers.vitals.base import Monitor, NumericReading
from protos.vitals_codes import BY_MDC, Rejection, normalise

UNSETTLED = "unsettled"
# Parameter key (protos.vitals_codes) → largest change between two readings that still counts
# as the same value.
TOLERANCE: dict[str, float] = {
    "spo2": 1.0,
    "heart_rate": 5.0,
    "body_temperature": 0.1,
    "respiratory_rate": 2.0,
    "perfusion_index": 0.5,
}
# NIBP and the pulse rate the cuff measures (MDC_PULS_RATE_NON_INV): one value per cuff cycle.
FINAL_AT_FIRST = frozenset({150020, 150021, 150022, 150023, 150300, 150301, 150302, 150303, 149546})


def _canonical(r: NumericReading) -> float | None:
    result = normalise(r.mdc_code, r.value, r.unit)
    return None if isinstance(result, Rejection) else result.value


def settled(previous: NumericReading | None, current: NumericReading) -> bool:
    """Whether ``current`` (following ``previous`` of the same code) makes its parameter settled."""
    if current.mdc_code in FINAL_AT_FIRST:
        return True
    value = _canonical(current)
    if value is None:
        return True  # refused: reported as rejected, never waited for
    if previous is None:
        return False
    before = _canonical(previous)
    if before is None:
        return False
    parameter = BY_MDC.get(current.mdc_code)
    tolerance = TOLERANCE.get(parameter.key, 0.0) if parameter else 0.0
    return abs(value - before) <= tolerance + 1e-9


def read_stable_set(monitor: Monitor, timeout_s: float) -> list[NumericReading]:
    """One stable set (see the module rule), in the order parameters first appeared."""
    latest: dict[int, NumericReading] = {}
    done: dict[int, bool] = {}
    went_round = False
    stream: Iterator[NumericReading] = monitor.numerics(timeout_s)
    try:
        for reading in stream:
            code = reading.mdc_code
            went_round = went_round or code in latest
            done[code] = settled(latest.get(code), reading)
            latest[code] = reading
            if went_round and all(done.values()):
                break
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    return [
        r if done[code] else dataclasses.replace(r, flags=(*r.flags, UNSETTLED))
        for code, r in latest.items()
    ]
