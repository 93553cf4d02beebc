"""The MDC ↔ LOINC/UCUM table: keyed on numeric codes, units made canonical, limits enforced."""

from __future__ import annotations

import pytest

from protos.vitals_codes import Normalised, Rejection, normalise


@pytest.mark.parametrize(
    ("code", "value", "unit", "loinc", "out_value", "out_unit"),
    [
        (150456, 97, "%", "59408-5", 97, "%"),
        (147842, 60, "/min", "8867-4", 60, "/min"),
        (149514, 61, "bpm", "8867-4", 61, "/min"),
        (149530, 62, "MDC_DIM_BEAT_PER_MIN", "8867-4", 62, "/min"),
        (149546, 63, "264864", "8867-4", 63, "/min"),
        (150021, 120, "mm[Hg]", "8480-6", 120, "mm[Hg]"),
        (150302, 80, "mmHg", "8462-4", 80, "mm[Hg]"),
        (150303, 12, "kPa", "8478-0", 90.007, "mm[Hg]"),
        (150344, 37.2, "Cel", "8310-5", 37.2, "Cel"),
        (150364, 100.4, "[degF]", "8310-5", 38.0, "Cel"),
        (151578, 18, "/min", "9279-1", 18, "/min"),
        (151594, 20, "MDC_DIM_RESP_PER_MIN", "9279-1", 20, "/min"),
        ((2 << 16) | (150456 & 0xFFFF), 96, "%", "59408-5", 96, "%"),
    ],
)
def test_known_codes_map_to_loinc_and_ucum(
    code: int, value: float, unit: str, loinc: str, out_value: float, out_unit: str
) -> None:
    result = normalise(code, value, unit)
    assert isinstance(result, Normalised)
    assert (result.parameter.loinc, result.value, result.unit) == (loinc, out_value, out_unit)


@pytest.mark.parametrize(
    ("code", "value", "unit", "reason"),
    [
        (150456, 140, "%", "impossible_value"),
        (150456, -1, "%", "impossible_value"),
        (150364, 52, "Cel", "impossible_value"),
        (150020, 120, "mm[Hg]", "unknown_code"),  # the panel itself carries no value
        (999999, 1, "%", "unknown_code"),
        (150456, 97, "ratio", "unknown_unit"),
        (150021, 120, "%", "unknown_unit"),
        (149530, float("nan"), "/min", "not_a_number"),
    ],
)
def test_impossible_values_and_unknown_units_are_rejected(
    code: int, value: float, unit: str, reason: str
) -> None:
    result = normalise(code, value, unit)
    assert isinstance(result, Rejection)
    assert result.reason_code == reason
    assert " / " in result.reason  # English / Español
