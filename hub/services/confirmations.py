"""Biometric confirmation of a case's steps: each confirmation checked with the station key valid
when it occurred, each step's status, and the "missing confirmation" rule of the console."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from hub.biometrics import SignatureCheck, step_status, verify_with_history
from hub.ingest.limits import check_message
from hub.storage.base import Case, Store
from hub.storage.payloads import READ_LIMITS
from hub.storage.station_key_history import HistoricKey, KeyHistory
from protos import events_pb2

Checked = list[tuple[events_pb2.Event, SignatureCheck]]


@dataclass(frozen=True, slots=True)
class StepStatus:
    step: str
    required: bool
    status: str  # confirmed, failed, invalid_signature or missing


class _Keys:
    """Station key histories read once per station for one use case."""

    def __init__(self, history: KeyHistory) -> None:
        self._history = history
        self._keys: dict[str, list[HistoricKey]] = {}

    def of(self, station_id: str) -> list[HistoricKey]:
        if station_id not in self._keys:
            self._keys[station_id] = self._history.keys(station_id)
        return self._keys[station_id]


def _check(
    keys: _Keys, raw: bytes, patient_id: str
) -> tuple[events_pb2.Event, SignatureCheck] | None:
    """None: stored by an older hub and refused today (unknown enum, NaN score, ...): never a
    confirmation; the case timeline shows the event flagged (hub.storage.payloads)."""
    event = events_pb2.Event.FromString(raw)
    if check_message(event, READ_LIMITS):
        return None
    check = verify_with_history(event, keys.of(event.station_id))
    if event.patient_id != patient_id:
        check = SignatureCheck(False, "patient_mismatch")
    return event, check


def checked_confirmations(store: Store, case: Case) -> Checked:
    """The case's confirmations, oldest first, each with its signature verdict."""
    keys = _Keys(store.key_history())
    checked = (
        _check(keys, raw, case.patient_id)
        for raw in store.case_queries().confirmations(case.case_id)
    )
    return [c for c in checked if c is not None]


def step_statuses(required: Sequence[str], checked: Checked) -> list[StepStatus]:
    """Each required step, then each other step seen, with its status."""
    seen = [e.biometric_confirmation.step for e, _ in checked]
    return [
        StepStatus(s, s in required, step_status(checked, s))
        for s in dict.fromkeys([*required, *seen])
    ]


class _Step(Protocol):
    @property
    def required(self) -> bool: ...

    @property
    def status(self) -> str: ...


def is_missing(steps: Iterable[_Step]) -> bool:
    """THE rule: a case misses a confirmation when a required step is not confirmed (no MATCH
    whose station signature verifies)."""
    return any(s.required and s.status != "confirmed" for s in steps)


def cases_missing_confirmation(
    store: Store, required: Sequence[str], case_ids: Sequence[str]
) -> set[str]:
    """Which of these cases miss a confirmation (the same rule as one case's page)."""
    if not case_ids or not required:
        return set()
    keys = _Keys(store.key_history())
    by_case: dict[str, Checked] = {c: [] for c in case_ids}
    for case_id, raw, patient_id in store.case_queries().confirmations_of(case_ids):
        one = _check(keys, raw, patient_id)
        if one is not None:
            by_case[case_id].append(one)
    return {c for c, checked in by_case.items() if is_missing(step_statuses(required, checked))}
