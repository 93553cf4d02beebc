"""Default alarm limits of the central station view, by age group (display and alerting aid
for a person watching; never a clinical decision and never sent to a device).

Starting values, to be reviewed by the institute's clinicians before use: adult limits
follow the usual factory alarm defaults of bedside monitors (Philips IntelliVue, GE
CARESCAPE instructions for use list SpO₂ low 90 %, heart rate 50-120 /min, NIBP systolic
90-160 mmHg), child and infant heart and respiratory rate limits the ranges of the PALS
provider manual (AHA). Not yet checked against those documents line by line: see
docs/console.md, "Central station".
"""

from __future__ import annotations

from datetime import date

# parameter -> (low, high); None: no limit on that side
Limits = dict[str, tuple[float | None, float | None]]

ADULT: Limits = {
    "spo2": (90, None),
    "heart_rate": (50, 120),
    "bp_systolic": (90, 160),
    "bp_diastolic": (50, 100),
    "bp_mean": (65, 110),
    "body_temperature": (35.5, 38.5),
    "respiratory_rate": (8, 25),
}
CHILD: Limits = ADULT | {
    "heart_rate": (70, 150),
    "respiratory_rate": (15, 35),
    "bp_systolic": (80, 130),
}
INFANT: Limits = ADULT | {
    "heart_rate": (100, 180),
    "respiratory_rate": (25, 55),
    "bp_systolic": (65, 110),
}


def age_group(birth_date: str, today: date | None = None) -> str:
    """adult (also when the birth date is unknown), child (1-17 years) or infant (<1)."""
    try:
        born = date.fromisoformat(birth_date[:10])
    except ValueError:
        return "adult"
    today = today or date.today()
    years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return "infant" if years < 1 else "child" if years < 18 else "adult"


def limits_for(group: str) -> Limits:
    return {"infant": INFANT, "child": CHILD}.get(group, ADULT)


def check(parameter: str, value: float, limits: Limits) -> str:
    """ "low", "high" or "" (within limits or no limit for the parameter)."""
    low, high = limits.get(parameter, (None, None))
    if low is not None and value < low:
        return "low"
    if high is not None and value > high:
        return "high"
    return ""
