"""The case page's vitals section read without loading every reading, on SQLite and PostgreSQL
alike, and agreeing with what the full read of the case's readings says."""

from __future__ import annotations

from typing import Any

from hub.storage import case_vitals
from hub.storage.base import EventRow
from protos import CONTRACT_VERSION, events_pb2
from protos.event_ids import new_event_id
from tests.hub.events import STATION, UNIT

T0 = 1_796_025_600  # 2026-11-30T08:00:00Z
HR, SPO2, SYS = (147842, "/min"), (150456, "%"), (150021, "mm[Hg]")


def _set(seq: int, at: int, readings: list[tuple[tuple[int, str], float]], **kw: Any) -> Any:
    event = events_pb2.Event(
        event_id=new_event_id(),
        station_id=STATION,
        unit_id=UNIT,
        device_id="monitor-1",
        case_id="c-vitals",
        patient_id="p1",
        station_seq=seq,
        schema_version=CONTRACT_VERSION,
    )
    event.occurred_at.FromSeconds(at)
    for (code, unit), value in readings:
        r = event.vital_signs.readings.add(mdc_code=code, value=value, unit=unit)
        r.measured_at.seconds = at
        r.flags.extend(kw.get("flags", []))
    event.vital_signs.mode = kw.get("mode", "spot")
    event.vital_signs.operator_id = kw.get("operator", "")
    if kw.get("refused"):
        event.vital_signs.rejected.add(
            reason_code="not_a_number", reason="OBX 2: not a number"
        ).reading.mdc_code = HR[0]
    return event


def _ingest(store: Any, *events: Any) -> None:
    rows = [
        EventRow(
            event_id=e.event_id,
            station_id=e.station_id,
            unit_id=e.unit_id,
            device_id=e.device_id,
            case_id=e.case_id,
            patient_id=e.patient_id,
            kind="vital_signs",
            occurred_at="2026-12-01T08:00:00.000000Z",
            station_seq=e.station_seq,
            received_at="2026-12-01T08:00:00.000000Z",
            clock_offset_ms=0,
            raw=e.SerializeToString(),
        )
        for e in events
    ]
    store.commit_ingest(rows, [], [])


def test_summary_newest_rejected_and_noted_match_the_full_read(store: Any) -> None:
    store.register_station(STATION, UNIT, "2026-01-01T00:00:00.000000Z")
    _ingest(
        store,
        _set(1, T0, [(HR, 50), (SPO2, 97)]),
        _set(2, T0 + 60, [(HR, 110), (SPO2, 90)], refused=True),
        _set(3, T0 + 120, [(SYS, 118)], flags=["bp_incomplete"]),
        _set(4, T0 + 180, [(SPO2, 82)], mode="assigned", operator="Enf. María López"),
        _set(5, T0 + 240, [(HR, 72)]),
    )
    # A time an older hub stored without a range check (today's ingest stores no such row).
    cols = "event_id, case_id, parameter, mdc_code, mdc_refid, loinc, value, unit, " + (
        "measured_at, containment, flags, status, reason_code, reason, equipment"
    )
    first = store.readings().readings("c-vitals", None, None, None)[0]
    legacy = [first.event_id, "c-vitals", "heart_rate", HR[0], "", "", 80.0, "/min"]
    legacy += ["36812-02-20T00:00:00.000Z", "", "[]", "accepted", "", "", ""]
    marks = ", ".join("?" * len(legacy))
    store._conn().execute(f"INSERT INTO vital_readings ({cols}) VALUES ({marks})", legacy)
    bounds = {"heart_rate": (60.0, 100.0), "spo2": (95.0, 100.0)}
    got = {s.parameter: s for s in case_vitals.summary(store, "c-vitals", bounds)}
    assert set(got) == {"heart_rate", "spo2", "bp_systolic"}
    hr, spo2, sys_ = got["heart_rate"], got["spo2"], got["bp_systolic"]
    assert (hr.count, hr.min, hr.max, hr.outside, hr.last) == (3, 50.0, 110.0, 2, 72.0)
    assert (spo2.count, spo2.min, spo2.max, spo2.outside, spo2.last) == (3, 82.0, 97.0, 2, 82.0)
    assert (sys_.count, sys_.outside, sys_.unit) == (1, 0, "mm[Hg]")  # no bound given

    # The same counts as reading every accepted reading whose time can be placed.
    full = store.readings().readings("c-vitals", None, None, None, "accepted")
    placeable = [r for r in full if not r.measured_at.startswith("3")]
    assert sum(s.count for s in got.values()) == len(placeable) == 7

    newest = case_vitals.newest(store, "c-vitals", 3)
    assert [(r.parameter, r.value) for r in newest] == [
        ("heart_rate", 72.0),
        ("spo2", 82.0),
        ("bp_systolic", 118.0),
    ]
    assert newest[2].flags == ("bp_incomplete",)

    rejected = case_vitals.rejected(store, "c-vitals")
    assert sorted((r.status, r.value) for r in rejected) == [("accepted", 80.0), ("rejected", 0.0)]

    noted = case_vitals.noted(store, "c-vitals")
    assert [(n.reading.value, n.reading.flags, n.assigned_by) for n in noted] == [
        (118.0, ("bp_incomplete",), None),
        (82.0, (), "Enf. María López"),
    ]
    assert noted[1].assigned_at is not None and noted[1].assigned_at.startswith("2026-11-30T08:03")
