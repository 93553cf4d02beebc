"""Dispensed medicines of a case, each verified (the dispensing event's and its confirmation's
station signatures, with the key valid when each occurred): shared by the API and the console."""

from __future__ import annotations

from dataclasses import dataclass

from hub.pharmacy.verify import DispensingCheck, check_dispensing
from hub.storage.base import Store
from hub.storage.dispensing import Dispensing
from hub.storage.station_key_history import HistoricKey
from protos import events_pb2


def checked_dispensings(store: Store, case_id: str) -> list[tuple[Dispensing, DispensingCheck]]:
    """The case's dispensings, newest first, each with its verification."""
    dispensing = store.dispensing()
    found = dispensing.by_case(case_id)
    raws = dispensing.raw_events(
        [d.event_id for d in found] + [d.confirmation_event_id for d in found]
    )
    history = store.key_history()
    keys: dict[str, list[HistoricKey]] = {}

    def keys_of(station_id: str) -> list[HistoricKey]:
        if station_id not in keys:
            keys[station_id] = history.keys(station_id)
        return keys[station_id]

    out = []
    for d in found:
        event = events_pb2.Event.FromString(raws[d.event_id])
        raw_confirmation = raws.get(d.confirmation_event_id)
        confirmation = events_pb2.Event.FromString(raw_confirmation) if raw_confirmation else None
        check = check_dispensing(
            event,
            confirmation,
            keys_of(event.station_id),
            keys_of(confirmation.station_id) if confirmation else [],
        )
        out.append((d, check))
    return out


@dataclass(frozen=True)
class DispensedLine:
    """One dispensing as the cases list shows it: when, by whom, what (name x quantity)."""

    event_id: str
    occurred_at: str
    pharmacist_id: str
    products: list[tuple[str, int]]  # (name, units handed over), in scan order


def dispensed_lines(store: Store, case_ids: list[str]) -> dict[str, list[DispensedLine]]:
    """What was handed over in each case of a cases-list page, newest first."""
    out: dict[str, list[DispensedLine]] = {}
    for case_id, found in store.dispensing().by_cases(case_ids).items():
        for d in found:
            products: dict[str, int] = {}
            for item in d.items:
                name = item.name or item.institute_code or item.gtin
                products[name] = products.get(name, 0) + item.quantity
            line = DispensedLine(d.event_id, d.occurred_at, d.pharmacist_id, list(products.items()))
            out.setdefault(case_id, []).append(line)
    return out
