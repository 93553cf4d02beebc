"""Console words for the case's flags on confirmations and scans, in Spanish and English."""

from __future__ import annotations

from hub.web.i18n import LABELS

CASE_FLAG_LABELS: dict[str, tuple[str, str]] = {
    "cross_unit_confirmation": (
        "Confirmación de otra unidad",
        "Confirmation from another unit",
    ),
    "cross_unit_note": (
        "{n} confirmación(es) biométrica(s) firmada(s) por una estación de otra unidad que la "
        "del caso ({unit}). Puede ser legítimo (paciente referido, equipo visitante); "
        "verifique que corresponda.",
        "{n} biometric confirmation(s) signed by a station of a unit other than the case's "
        "({unit}). It may be legitimate (a referred patient, a visiting team); check that it "
        "belongs here.",
    ),
    "cross_unit_row": (
        "otra unidad: {station_unit} (caso: {case_unit})",
        "another unit: {station_unit} (case: {case_unit})",
    ),
    "scan_pages_differ": (
        "{scanned} de {expected} páginas esperadas",
        "{scanned} of {expected} expected pages",
    ),
    "scan_pages_differ_title": (
        "El escáner entregó un número de páginas distinto del esperado: revise el documento.",
        "The scanner yielded a different number of pages than expected: check the document.",
    ),
}

LABELS.update(CASE_FLAG_LABELS)
