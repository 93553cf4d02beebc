"""MQTT topic names of the contract (shared/ARCHITECTURE.md, "MQTT topics")."""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "puente/v1"
SHARED_GROUP = "hub"

# Unit and station ids become topic levels: no wildcards, no separators.
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class TopicError(ValueError):
    """A topic or id that does not fit the contract's topic tree."""


def check_id(kind: str, value: str) -> str:
    if not _ID.match(value or ""):
        raise TopicError(
            f"invalid {kind} id {value!r}: use 1-64 letters, digits, '.', '_' or '-' "
            f"/ id de {kind} no válido"
        )
    return value


def _topic(unit_id: str, station_id: str, leaf: str) -> str:
    return f"{PREFIX}/{check_id('unit', unit_id)}/{check_id('station', station_id)}/{leaf}"


def events(unit_id: str, station_id: str) -> str:
    return _topic(unit_id, station_id, "events")


def receipts(unit_id: str, station_id: str) -> str:
    return _topic(unit_id, station_id, "receipts")


def state(unit_id: str, station_id: str) -> str:
    return _topic(unit_id, station_id, "state")


def config(unit_id: str, station_id: str) -> str:
    return _topic(unit_id, station_id, "config")


def all_events(shared: bool) -> str:
    """Subscription of hub workers; shared so several share the load."""
    plain = f"{PREFIX}/+/+/events"
    return f"$share/{SHARED_GROUP}/{plain}" if shared else plain


ALL_STATES = f"{PREFIX}/+/+/state"


@dataclass(frozen=True)
class StationTopic:
    unit_id: str
    station_id: str
    leaf: str


def parse(topic: str) -> StationTopic:
    parts = topic.split("/")
    if len(parts) != 5 or f"{parts[0]}/{parts[1]}" != PREFIX:
        raise TopicError(f"not a Puente topic: {topic!r}")
    return StationTopic(check_id("unit", parts[2]), check_id("station", parts[3]), parts[4])
