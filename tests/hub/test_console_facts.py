"""Unit time zones and local formatting of the console (issue 17): API, storage, formats."""

from __future__ import annotations

from fastapi.testclient import TestClient

from hub.fleet import FleetService
from hub.storage.console_facts import ConsoleFacts, fold
from hub.storage.sqlite import SQLiteStore
from hub.tokens import Role
from hub.web.case_data import merge_blood_pressure
from hub.web.localtime import Local


def test_unit_time_zone_through_the_api(
    client: TestClient, tokens: dict[Role, dict[str, str]], store: SQLiteStore
) -> None:
    ops = tokens[Role.OPS]
    app = client.app
    app.state.fleet = FleetService(app.state.settings, store)  # type: ignore[attr-defined]
    bad = client.post(
        "/v1/units",
        json={"unit_id": "U-1", "name": "Zona 9", "time_zone": "Mars/Base"},
        headers=ops,
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_time_zone" and "Mars/Base" in bad.json()["detail"]
    ok = client.post("/v1/units", json={"unit_id": "U-1", "name": "Zona 9"}, headers=ops)
    assert ok.status_code == 201 and ok.json()["time_zone"] == "America/Guatemala"
    ok = client.post(
        "/v1/units",
        json={"unit_id": "U-2", "name": "Tapachula", "time_zone": "America/Mexico_City"},
        headers=ops,
    )
    assert ok.json()["time_zone"] == "America/Mexico_City"
    listed = {u["unit_id"]: u["time_zone"] for u in client.get("/v1/units", headers=ops).json()}
    assert listed == {"U-1": "America/Guatemala", "U-2": "America/Mexico_City"}
    assert ConsoleFacts(store).time_zone("U-2") == "America/Mexico_City"
    assert ConsoleFacts(store).time_zone("never-registered") == "America/Guatemala"


def test_local_formats_as_clinicians_write() -> None:
    es, en = Local("es"), Local("en")
    evening = "2026-12-01T02:30:09.123456Z"  # 20:30 the day before in Guatemala
    assert es.when(evening) == "30/11/2026 20:30"
    assert es.when(evening, seconds=True) == "30/11/2026 20:30:09"
    assert en.when(evening) == "30 Nov 2026 20:30"
    assert es.when(evening, tz="America/Mexico_City") == "30/11/2026 20:30"
    assert es.when(evening, tz="UTC") == "01/12/2026 02:30"
    assert es.when("") == "" and es.when("not a time") == ""
    assert es.day("1990-05-17") == "17/05/1990"
    assert es.value("spo2", 97.0) == "97 %"
    assert es.value("heart_rate", 72) == "72 lpm" and en.value("heart_rate", 72) == "72 bpm"
    assert es.value("body_temperature", 36.8) == "36,8 °C"
    assert en.value("body_temperature", 36.8) == "36.8 °C"
    assert es.value("blood_pressure", (120.0, 80.0)) == "120/80 mmHg"


def test_blood_pressure_rows_pair_up() -> None:
    rows = [
        {"parameter": "bp_diastolic", "value": 80.0, "unit": "mmHg", "measured_at": "t1"},
        {"parameter": "bp_systolic", "value": 120.0, "unit": "mmHg", "measured_at": "t1"},
        {"parameter": "bp_systolic", "value": 130.0, "unit": "mmHg", "measured_at": "t2"},
    ]
    merged = merge_blood_pressure(rows)
    assert [(r["parameter"], r["value"]) for r in merged] == [
        ("blood_pressure", (120.0, 80.0)),
        ("bp_systolic", 130.0),  # no diastolic at t2: stays on its own
    ]


def test_fold_for_name_search() -> None:
    assert fold("  José PÉREZ ") == "jose perez"


def test_case_carries_who_the_patient_is(
    client: TestClient, tokens: dict[Role, dict[str, str]]
) -> None:
    ops = tokens[Role.OPS]
    body = {"case_id": "C-1", "patient_id": "1234567890101", "unit_id": "U-1"}
    who = {"patient_name": "  José   Pérez López ", "sex": "male", "birth_date": "1990-05-17"}
    made = client.post("/v1/cases", json=body | who, headers=ops)
    assert made.status_code == 201, made.text
    assert made.json()["patient_name"] == "José Pérez López"  # spaces tidied
    assert (made.json()["sex"], made.json()["birth_date"]) == ("male", "1990-05-17")
    again = client.post("/v1/cases", json=body | who, headers=ops)
    assert again.status_code == 200
    other = client.post("/v1/cases", json=body | who | {"patient_name": "Otro"}, headers=ops)
    assert other.status_code == 409
    got = client.get("/v1/cases/C-1", headers=ops).json()
    assert got["patient_name"] == "José Pérez López"
    listed = client.get("/v1/cases", headers=ops).json()["items"]
    assert listed[0]["birth_date"] == "1990-05-17"
    # Optional: a case without them still opens; nonsense is refused with the field named.
    plain = client.post("/v1/cases", json=body | {"case_id": "C-2"}, headers=ops)
    assert plain.status_code == 201 and plain.json()["patient_name"] is None
    for bad in ({"sex": "M"}, {"birth_date": "2999-01-01"}, {"patient_name": "a\x00b"}):
        r = client.post("/v1/cases", json=body | {"case_id": "C-3"} | bad, headers=ops)
        assert r.status_code == 422, (bad, r.text)
        assert next(iter(bad)) in r.text
