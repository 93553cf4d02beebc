"""Default alarm limits of the central station by the patient's age: the group changes on the
right day (birth dates at each boundary), and the limits are those of the cited references
(Fleming et al. Lancet 2011 centiles, PALS hypotension, NEWS2 red scores)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from hub.web.alarm_limits import ADULT, FLEMING, GROUPS, age_group, check, defaults

TODAY = date(2026, 12, 1)


def _years_ago(years: int, days: int = 0) -> str:
    return (TODAY.replace(year=TODAY.year - years) + timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    ("birth_date", "group"),
    [
        (TODAY.isoformat(), "neonate"),  # born today
        ((TODAY - timedelta(days=27)).isoformat(), "neonate"),
        ((TODAY - timedelta(days=28)).isoformat(), "infant"),  # 28 days: no longer a neonate
        (_years_ago(1, days=1), "infant"),  # first birthday is tomorrow
        (_years_ago(1), "toddler"),  # first birthday today
        (_years_ago(3, days=1), "toddler"),
        (_years_ago(3), "preschool"),
        (_years_ago(6, days=1), "preschool"),
        (_years_ago(6), "school"),
        (_years_ago(12, days=1), "school"),
        (_years_ago(12), "adolescent"),
        (_years_ago(18, days=1), "adolescent"),  # 18 tomorrow: still Fleming's last band
        (_years_ago(18), "adult"),  # 18 today: NEWS2
        (_years_ago(80), "adult"),
        ("", "adult"),  # unknown: adult limits
        ("not a date", "adult"),
        ((TODAY + timedelta(days=1)).isoformat(), "adult"),  # a birth date after today
        ("2025-12-02T10:00:00", "infant"),  # a timestamp: its day counts (1 year tomorrow)
    ],
)
def test_the_age_group_changes_on_the_birthday(birth_date: str, group: str) -> None:
    assert age_group(birth_date, TODAY) == group
    assert defaults(birth_date, TODAY)[0] == group


def test_a_leap_day_birth_turns_one_on_the_first_of_march() -> None:
    born = "2024-02-29"
    assert age_group(born, date(2025, 2, 28)) == "infant"
    assert age_group(born, date(2025, 3, 1)) == "toddler"


def test_children_get_the_fleming_centiles_of_their_own_age_band() -> None:
    # Each band of the centile table, on the first and last day of the band.
    lower = 0
    for upper, hr_lo, hr_hi, rr_lo, rr_hi in FLEMING:
        for months in (lower, upper - 1):
            first = _months_ago(months)
            _, limits = defaults(first, TODAY)
            assert limits["heart_rate"] == (hr_lo, hr_hi), (months, first)
            assert limits["respiratory_rate"] == (rr_lo, rr_hi), (months, first)
        lower = upper
    # Published 1st-99th centiles: a 1-month-old at 175 /min is within, at 185 above.
    _, baby = defaults(_months_ago(1), TODAY)
    assert check("heart_rate", 175, baby) == "" and check("heart_rate", 185, baby) == "high"
    # A 16-year-old at 110 /min is above the 99th centile of 15-18 years (104).
    _, teen = defaults(_years_ago(16), TODAY)
    assert check("heart_rate", 110, teen) == "high"
    assert check("respiratory_rate", 10, teen) == "low"


def _months_ago(months: int) -> str:
    y, m = divmod(TODAY.year * 12 + TODAY.month - 1 - months, 12)
    return date(y, m + 1, TODAY.day).isoformat()


@pytest.mark.parametrize(
    ("birth_date", "systolic_low"),
    [
        ((TODAY - timedelta(days=10)).isoformat(), 60),  # neonate: < 60 mmHg
        (_months_ago(6), 70),  # infant: < 70
        (_years_ago(1), 72),  # 70 + 2 x 1
        (_years_ago(5), 80),  # 70 + 2 x 5
        (_years_ago(9), 88),  # 70 + 2 x 9
        (_years_ago(10), 90),  # from 10 years: < 90
        (_years_ago(15), 90),
    ],
)
def test_children_systolic_low_follows_pals_hypotension(birth_date: str, systolic_low: int) -> None:
    _, limits = defaults(birth_date, TODAY)
    assert limits["bp_systolic"] == (systolic_low, None)


def test_adults_alarm_where_one_news2_parameter_scores_three() -> None:
    _, limits = defaults(_years_ago(40), TODAY)
    assert limits == ADULT
    # NEWS2 score 3: pulse <= 40 or >= 131, respiration <= 8 or >= 25, SpO2 <= 91 (scale 1),
    # systolic <= 90 or >= 220, temperature <= 35.0; temperature >= 39.1 scores 2 (its top).
    for parameter, alarming, quiet in (
        ("heart_rate", (40, 131), (41, 130)),
        ("respiratory_rate", (8, 25), (9, 24)),
        ("spo2", (91,), (92, 100)),
        ("bp_systolic", (90, 220), (91, 219)),
        ("body_temperature", (35.0, 39.1), (35.1, 39.0)),
    ):
        assert all(check(parameter, v, limits) for v in alarming), parameter
        assert not any(check(parameter, v, limits) for v in quiet), parameter


def test_every_group_has_words_on_the_tiles() -> None:
    from hub.web.clinical_labels import CLINICAL_LABELS

    for group in GROUPS:
        es, en = CLINICAL_LABELS[f"group_{group}"]
        assert es and en and es != en
