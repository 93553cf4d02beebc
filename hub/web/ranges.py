"""Adult normal ranges shaded on the console's vitals charts (display only, never a decision)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shown:
    """How the console shows a parameter: names in Spanish and English, unit and normal range."""

    es: str
    en: str
    unit: str  # as shown (UCUM "Cel" is shown °C, "/min" as /min)
    low: float
    high: float


# Keyed by protos.vitals_codes parameter key. Ranges: resting adult, common textbook values.
SHOWN: dict[str, Shown] = {
    "spo2": Shown("SpO₂", "SpO₂", "%", 95, 100),
    "heart_rate": Shown("Frecuencia cardiaca", "Heart rate", "/min", 60, 100),
    "bp_systolic": Shown("Presión sistólica", "Systolic pressure", "mmHg", 90, 140),
    "bp_diastolic": Shown("Presión diastólica", "Diastolic pressure", "mmHg", 60, 90),
    "bp_mean": Shown("Presión media", "Mean pressure", "mmHg", 70, 105),
    "body_temperature": Shown("Temperatura", "Temperature", "°C", 36.1, 37.5),
    "respiratory_rate": Shown("Frecuencia respiratoria", "Respiratory rate", "/min", 12, 20),
    "perfusion_index": Shown("Índice de perfusión", "Perfusion index", "%", 0.2, 20),
}

ORDER = list(SHOWN)


def shown(parameter: str, unit: str) -> Shown:
    """The parameter's display facts; an unknown one gets its key and no range."""
    return SHOWN.get(parameter) or Shown(parameter or "?", parameter or "?", unit, 0, 0)


def label(parameter: str, lang: str) -> str:
    if parameter == "blood_pressure":
        return "Presión arterial" if lang == "es" else "Blood pressure"
    s = shown(parameter, "")
    return s.es if lang == "es" else s.en
