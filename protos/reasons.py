"""Reason codes of rejected events: the table both agent and hub read.

A rejected event is never stored as a fact; the hub keeps it in quarantine
and answers with a REJECTED receipt carrying one of these codes, so the
station stops re-sending it.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    UNDECODABLE = "undecodable"
    MISSING_FIELD = "missing_field"
    BAD_EVENT_ID = "bad_event_id"
    NO_PAYLOAD = "no_payload"
    UNKNOWN_STATION = "unknown_station"
    STATION_MISMATCH = "station_mismatch"
    RETIRED_STATION = "retired_station"
    UNSUPPORTED_VERSION = "unsupported_version"
    BAD_TIMESTAMP = "bad_timestamp"
    INVALID_PAYLOAD = "invalid_payload"
    OUT_OF_RANGE = "out_of_range"
    TOO_LARGE = "too_large"


# English / Spanish text for people reading the quarantine.
DESCRIPTIONS: dict[Reason, str] = {
    Reason.UNDECODABLE: "bytes are not a Puente event / los bytes no son un evento de Puente",
    Reason.MISSING_FIELD: "a required field is empty / falta un campo obligatorio",
    Reason.BAD_EVENT_ID: "event_id is not a UUIDv7 / event_id no es un UUIDv7",
    Reason.NO_PAYLOAD: "the event carries no payload / el evento no trae contenido",
    Reason.UNKNOWN_STATION: "the station is not registered at the hub / "
    "la estación no está registrada en el hub",
    Reason.STATION_MISMATCH: "the event names another station or unit than its topic / "
    "el evento nombra otra estación o unidad que su tópico",
    Reason.RETIRED_STATION: "the station was retired / la estación fue dada de baja",
    Reason.UNSUPPORTED_VERSION: "contract version not supported / "
    "versión del contrato no soportada",
    Reason.BAD_TIMESTAMP: "occurred_at is missing or implausible / "
    "occurred_at falta o no es plausible",
    Reason.INVALID_PAYLOAD: "the payload is not valid / el contenido no es válido",
    Reason.OUT_OF_RANGE: "a field is out of its range / un campo está fuera de su rango",
    Reason.TOO_LARGE: "the event or its batch is over the hub's size limit / "
    "el evento o su lote supera el tamaño máximo del hub",
}
