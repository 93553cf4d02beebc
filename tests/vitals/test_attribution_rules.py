"""Attribution rules and the inbox: each reason, overflow counted, decisions audited, final."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drivers.vitals.base import NumericReading
from edge_agent.audit import AuditLog
from edge_agent.capabilities.vitals.attribution import Claim, judge, same_name
from edge_agent.capabilities.vitals.inbox import EntryDecided, VitalsInbox
from edge_agent.capabilities.vitals.settings import VitalsSettings
from edge_agent.errors import InvalidInput
from edge_agent.outbox import Outbox
from edge_agent.record import RecordService
from edge_agent.settings import AgentSettings
from protos import events_pb2

START = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
RULES = VitalsSettings(start_tolerance_s=5, max_age_s=300)
CLAIM = Claim("take", "t1", "monitor-1", "CASE-1", "1234567890101", "Pérez^Ana", START)


def reading(
    at: datetime, received: datetime | None = None, ids: tuple[str, ...] = (), name: str = ""
) -> NumericReading:
    return NumericReading(
        150456,
        "MDC_PULS_OXIM_SAT_O2",
        97.0,
        "%",
        at,
        received_at=received,
        patient_ids=ids,
        patient_name=name,
        message_id="M1",
    )


NOW = START + timedelta(seconds=20)


@pytest.mark.parametrize(
    ("r", "claim", "expected"),
    [
        (reading(NOW), CLAIM, None),
        (reading(START - timedelta(seconds=4), NOW), CLAIM, None),  # within the tolerance
        (reading(START - timedelta(seconds=6), NOW), CLAIM, "before_start"),
        (reading(NOW, START - timedelta(seconds=1)), CLAIM, "before_start"),  # arrived before
        (reading(NOW - timedelta(seconds=301), NOW), CLAIM, "stale"),
        (reading(NOW + timedelta(seconds=60), NOW), CLAIM, "future"),
        (reading(NOW, NOW, ("1234567890101",)), CLAIM, None),
        (reading(NOW, NOW, ("999", "1234567890101")), CLAIM, None),  # any PID-3 repetition
        (reading(NOW, NOW, ("999",)), CLAIM, "patient_mismatch"),
        (reading(NOW, NOW, (), "PEREZ^ANA MARIA"), CLAIM, None),  # accents, case, middle name
        (reading(NOW, NOW, (), "Gómez^Luis"), CLAIM, "patient_mismatch"),
        (reading(NOW, NOW, ("1234567890101",), "Gómez^Luis"), CLAIM, "patient_mismatch"),
        (
            reading(NOW, NOW, (), "Pérez^Ana"),
            Claim("take", "t2", "monitor-1", "CASE-1", "1234567890101", "", START),
            "patient_unverified",
        ),
    ],
)
def test_judge(r: NumericReading, claim: Claim, expected: str | None) -> None:
    assert judge(r, claim, RULES, now=NOW) == expected


def test_same_name_needs_the_same_family_name() -> None:
    assert same_name("López^José", "LOPEZ^jose")
    assert same_name("López", "López^José")
    assert not same_name("López^José", "López^Juan")


@pytest.fixture
def inbox(tmp_path: Path) -> VitalsInbox:
    settings = AgentSettings(station_id="st-1", unit_id="u-1", data_dir=tmp_path)
    outbox = Outbox(tmp_path / "outbox.sqlite3", limit_bytes=1 << 24, hard_limit_bytes=1 << 25)
    outbox.open()
    box = VitalsInbox(
        tmp_path / "inbox.sqlite3",
        RecordService(settings, outbox),
        AuditLog(tmp_path / "audit.log"),
        max_per_device=10,
    )
    box.outbox = outbox  # type: ignore[attr-defined]
    return box


def test_one_entry_per_message_and_overflow_is_counted_and_audited(
    inbox: VitalsInbox, tmp_path: Path
) -> None:
    a = reading(NOW)
    [first] = inbox.add("monitor-1", [a, a], "no_take")
    assert len(inbox.entries()[0].readings) == 2
    assert inbox.add("monitor-1", [a], "no_take") == [first]  # more rows of message M1
    for i in range(12):
        inbox.add(
            "monitor-1",
            [NumericReading(150456, "X", 90 + i, "%", NOW + timedelta(seconds=i))],
            "no_take",
        )
    assert len(inbox.entries("monitor-1")) == 10
    assert inbox.dropped() == {"monitor-1": 3}
    inbox.flush_audit(force=True)  # arrivals are audited with counts, once a minute at most
    lines = [json.loads(x) for x in (tmp_path / "audit.log").read_text().splitlines()]
    overflow = [x for x in lines if x["decision"] == "vitals_inbox_overflow"]
    assert sum(x["dropped"] for x in overflow) == 3
    assert {x["device_id"] for x in overflow} == {"monitor-1"}
    arrivals = [x for x in lines if x["decision"] == "vitals_unassigned"]
    assert sum(x["entries"] for x in arrivals) == 14  # 1, the same message again, 12 more
    assert len(arrivals) == 2  # the first at once, the rest counted


def test_assignment_records_the_readings_for_the_case_once_naming_the_person(
    inbox: VitalsInbox,
) -> None:
    old = reading(NOW - timedelta(hours=1), NOW)
    [entry_id] = inbox.add("monitor-1", [old], "stale", stale=True)
    with pytest.raises(InvalidInput):
        inbox.assign(entry_id, "CASE-1", "1234567890101", "  ")
    entry, event_id, _ = inbox.assign(entry_id, "CASE-1", "1234567890101", "Enf. López")
    assert (entry.state, entry.decided_by, entry.case_id) == ("assigned", "Enf. López", "CASE-1")
    with pytest.raises(EntryDecided):
        inbox.assign(entry_id, "CASE-2", "1234567890101", "Otro")
    with pytest.raises(EntryDecided):
        inbox.discard(entry_id, "Otro")
    [(_, _, raw)] = inbox.outbox.pending(0, 10)  # type: ignore[attr-defined]
    event = events_pb2.Event.FromString(raw)
    obs = event.vital_signs
    assert (event.event_id, event.case_id) == (event_id, "CASE-1")
    assert (obs.mode, obs.assigned_by, obs.inbox_reason) == ("assigned", "Enf. López", "stale")
    assert list(obs.readings[0].flags) == ["stale"]  # an old reading says so on the case
