"""Times and values as clinicians read them: the unit's local time (zoneinfo), the page
language's format (es: 24 h, dd/mm/yyyy, decimal comma; en: 24 h, "1 Dec 2026"), values with
their unit as written on a chart (97 %, 72 lpm, 120/80 mmHg, 36,8 °C).

Hand-written rather than Babel: two fixed patterns the issue names (es-GT dd/mm/yyyy 24 h),
and CLDR's es_GT short pattern (d/M/yy) is not the one clinicians asked for.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from hub.storage.console_facts import DEFAULT_TIME_ZONE

MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

# parameter key -> (decimals, unit in Spanish, unit in English)
VALUE_FORMAT: dict[str, tuple[int, str, str]] = {
    "spo2": (0, "%", "%"),
    "heart_rate": (0, "lpm", "bpm"),
    "pulse_rate": (0, "lpm", "bpm"),
    "bp_systolic": (0, "mmHg", "mmHg"),
    "bp_diastolic": (0, "mmHg", "mmHg"),
    "bp_mean": (0, "mmHg", "mmHg"),
    "body_temperature": (1, "°C", "°C"),
    "respiratory_rate": (0, "rpm", "breaths/min"),
    "perfusion_index": (1, "%", "%"),
}


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TIME_ZONE)
    except (ValueError, OSError):
        return ZoneInfo(DEFAULT_TIME_ZONE)


def parse(iso: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(iso.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def number(value: float, lang: str, decimals: int = 0) -> str:
    text = f"{value:.{decimals}f}"
    return text.replace(".", ",") if lang == "es" else text


class Local:
    """Formatting for one page: a language and a time zone (templates call it ``L``)."""

    def __init__(self, lang: str, time_zone: str = DEFAULT_TIME_ZONE) -> None:
        self.lang = lang
        self.time_zone = time_zone or DEFAULT_TIME_ZONE
        self.tz = zone(self.time_zone)

    def when(self, iso: str | None, seconds: bool = False, tz: str = "") -> str:
        """A UTC instant as local wall time: 01/12/2026 15:04 (es), 1 Dec 2026 15:04 (en);
        ``tz``: another unit's zone than the page's (a list of several units)."""
        if not iso:
            return ""
        moment = parse(iso)
        if moment is None:
            return ""
        t = moment.astimezone(zone(tz) if tz else self.tz)
        clock = t.strftime("%H:%M:%S" if seconds else "%H:%M")
        return f"{self.day_of(t.date())} {clock}"

    def clock(self, iso: str | None) -> str:
        moment = parse(iso or "")
        return moment.astimezone(self.tz).strftime("%H:%M:%S") if moment else ""

    def day_of(self, d: date) -> str:
        if self.lang == "es":
            return d.strftime("%d/%m/%Y")
        return f"{d.day} {MONTHS_EN[d.month - 1]} {d.year}"

    def day(self, iso_date: str | None) -> str:
        """A calendar date (YYYY-MM-DD, e.g. a birth date) in the page's format."""
        try:
            return self.day_of(date.fromisoformat((iso_date or "")[:10]))
        except ValueError:
            return ""

    def age(self, iso_date: str | None) -> int | None:
        """Whole years from a birth date to today in the page's zone."""
        try:
            born = date.fromisoformat((iso_date or "")[:10])
        except ValueError:
            return None
        today = datetime.now(self.tz).date()
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    def unit(self, parameter: str, fallback: str = "") -> str:
        fmt = VALUE_FORMAT.get(parameter)
        if fmt is None:
            return fallback
        return fmt[1] if self.lang == "es" else fmt[2]

    def value(self, parameter: str, value: object, unit: str = "") -> str:
        """97 %, 72 lpm, 36,8 °C, 120/80 mmHg: the number in the page's style and unit."""
        if isinstance(value, tuple):  # blood pressure (systolic, diastolic)
            return f"{number(value[0], self.lang)}/{number(value[1], self.lang)} mmHg"
        assert isinstance(value, int | float)
        decimals, es, en = VALUE_FORMAT.get(parameter, (1 if value % 1 else 0, unit, unit))
        shown = es if self.lang == "es" else en
        text = number(value, self.lang, decimals)
        return f"{text} {shown}".strip()

    def num(self, parameter: str, value: float) -> str:
        decimals = VALUE_FORMAT.get(parameter, (1 if value % 1 else 0, "", ""))[0]
        return number(value, self.lang, decimals)

    def offset_label(self) -> str:
        """e.g. "hora de Guatemala (UTC−06:00)" for a table header."""
        now = datetime.now(self.tz)
        off = now.strftime("%z")
        sign = "−" if off.startswith("-") else "+"
        city = self.time_zone.rsplit("/", 1)[-1].replace("_", " ")
        word = "hora de" if self.lang == "es" else "time,"
        if self.lang == "es":
            return f"{word} {city} (UTC{sign}{off[1:3]}:{off[3:]})"
        return f"{city} {word.rstrip(',')} (UTC{sign}{off[1:3]}:{off[3:]})"
