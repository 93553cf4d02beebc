"""Default alarm limits of the central station view, by the patient's age (display and
alerting aid for a person watching; never a clinical decision and never sent to a device).

Sources (docs/console.md, "Central station", has the table and the reasoning):

- Children, heart and respiratory rate: the 1st and 99th centiles of Fleming S, Thompson M,
  Stevens R, et al. "Normal ranges of heart rate and respiratory rate in children from birth
  to 18 years of age: a systematic review of observational studies." Lancet 2011;377:1011-18
  (doi:10.1016/S0140-6736(10)62226-X), for the child's own age band (0-3 months ... 15-18
  years): outside the range of 98 % of healthy children of that age.
- Children, systolic pressure: the hypotension limits of the AHA PALS provider manual
  (< 60 mmHg in term neonates, < 70 in infants, < 70 + 2 × age in years from 1 to 10,
  < 90 from 10 years).
- Adults (18 and over): the Royal College of Physicians' National Early Warning Score 2
  (NEWS2, 2017): the limit is where one parameter alone scores 3 (the "red" score that calls
  for an urgent review): respiration ≤ 8 or ≥ 25 /min, SpO₂ ≤ 91 % (scale 1), systolic
  ≤ 90 or ≥ 220 mmHg, pulse ≤ 40 or ≥ 131 /min, temperature ≤ 35.0 °C; temperature's
  highest NEWS2 score is 2, at ≥ 39.1 °C.

Not in either source, kept from the usual bedside-monitor factory defaults and to be reviewed
by the institute's clinicians: diastolic and mean pressure, SpO₂ and temperature in
children (the adult values), and no upper systolic limit for children (set one per session).
A value alarms when it is below ``low`` or above ``high``.
"""

from __future__ import annotations

from datetime import date

# parameter -> (low, high); None: no limit on that side
Limits = dict[str, tuple[float | None, float | None]]

# NEWS2, score 3 on one parameter (temperature: its highest score, 2). Values are the last
# ones that do NOT alarm: pulse ≤ 40 scores 3, so 41 is the lowest that does not.
ADULT: Limits = {
    "spo2": (92, None),
    "heart_rate": (41, 130),
    "bp_systolic": (91, 219),
    "bp_diastolic": (50, 100),  # not scored by NEWS2: monitor default
    "bp_mean": (65, 110),  # not scored by NEWS2: monitor default
    "body_temperature": (35.1, 39.0),
    "respiratory_rate": (9, 24),
}

# Fleming et al. 2011, centiles table: age band upper bound in months (exclusive), then the
# 1st and 99th centiles of heart rate and of respiratory rate (/min).
FLEMING: tuple[tuple[int, int, int, int, int], ...] = (
    (3, 107, 181, 25, 66),
    (6, 104, 175, 24, 64),
    (9, 98, 168, 23, 61),
    (12, 93, 161, 22, 58),
    (18, 88, 156, 21, 53),
    (24, 82, 149, 19, 46),
    (36, 76, 142, 18, 38),
    (48, 70, 136, 17, 33),
    (72, 65, 131, 17, 29),
    (96, 59, 123, 16, 27),
    (144, 52, 115, 14, 25),
    (180, 47, 108, 12, 23),
    (216, 43, 104, 11, 22),
)

# Age groups shown on the tiles, youngest first.
GROUPS = ("neonate", "infant", "toddler", "preschool", "school", "adolescent", "adult")


def _age(born: date, today: date) -> tuple[int, int, int]:
    """(days, whole months, whole years) from birth to today."""
    before = (today.month, today.day) < (born.month, born.day)
    years = today.year - born.year - before
    months = (today.year - born.year) * 12 + today.month - born.month - (today.day < born.day)
    return (today - born).days, months, years


def _born(birth_date: str, today: date) -> date | None:
    """The birth date, or None when unknown, unreadable or after today."""
    try:
        born = date.fromisoformat(birth_date[:10])
    except ValueError:
        return None
    return born if born <= today else None


def age_group(birth_date: str, today: date | None = None) -> str:
    """neonate (< 28 days), infant (< 1 year), toddler (1-2), preschool (3-5), school (6-11),
    adolescent (12-17) or adult (18 and over, and when the birth date is unknown)."""
    today = today or date.today()
    born = _born(birth_date, today)
    if born is None:
        return "adult"
    days, _, years = _age(born, today)
    if days < 28:
        return "neonate"
    for name, below in (("infant", 1), ("toddler", 3), ("preschool", 6), ("school", 12)):
        if years < below:
            return name
    return "adolescent" if years < 18 else "adult"


def defaults(birth_date: str, today: date | None = None) -> tuple[str, Limits]:
    """The age group and the default limits for a patient born on ``birth_date``."""
    today = today or date.today()
    group = age_group(birth_date, today)
    born = _born(birth_date, today)
    if group == "adult" or born is None:
        return group, dict(ADULT)
    days, months, years = _age(born, today)
    _, hr_lo, hr_hi, rr_lo, rr_hi = next(b for b in FLEMING if months < b[0])
    if days < 28:
        sys_lo = 60
    elif years < 1:
        sys_lo = 70
    elif years < 10:
        sys_lo = 70 + 2 * years
    else:
        sys_lo = 90
    return group, ADULT | {
        "heart_rate": (hr_lo, hr_hi),
        "respiratory_rate": (rr_lo, rr_hi),
        "bp_systolic": (sys_lo, None),
    }


def check(parameter: str, value: float, limits: Limits) -> str:
    """ "low", "high" or "" (within limits or no limit for the parameter)."""
    low, high = limits.get(parameter, (None, None))
    if low is not None and value < low:
        return "low"
    if high is not None and value > high:
        return "high"
    return ""
