"""The HTTP API: roles, problem details, cases with timelines, stations, health and metrics."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from hub.ingest.pipeline import Incoming, process_batch
from hub.storage.sqlite import SQLiteStore
from hub.tokens import Role
from protos import topics
from tests.hub.events import STATION, UNIT, batch_bytes, vitals_event

Headers = dict[Role, dict[str, str]]
YEAR = 366 * 24 * 3600
CASE = {"case_id": "c-100", "patient_id": "1234567890", "unit_id": UNIT}


def ingest(store: SQLiteStore, *events: object) -> None:
    payload = batch_bytes(*events)  # type: ignore[arg-type]
    process_batch([Incoming(topics.events(UNIT, STATION), payload, time.time())], store, YEAR)


def test_missing_unknown_or_revoked_token_is_401_problem(
    client: TestClient, store: SQLiteStore, tokens: Headers
) -> None:
    response = client.get("/v1/cases")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert (body["status"], body["code"]) == (401, "unauthorized")
    assert set(body) == {"type", "title", "status", "detail", "code"}
    assert client.get("/v1/cases", headers={"Authorization": "Bearer nope"}).status_code == 401
    store.revoke_tokens("sys-readonly", "2025-01-01T00:00:00Z")
    revoked = client.get("/v1/cases", headers=tokens[Role.READONLY])
    assert revoked.status_code == 401
    assert "revoked / el token fue revocado" in revoked.json()["detail"]


def test_wrong_role_is_403(client: TestClient, tokens: Headers) -> None:
    response = client.post("/v1/cases", json=CASE, headers=tokens[Role.READONLY])
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    station = {"station_id": "st-05", "unit_id": UNIT}
    assert (
        client.post("/v1/stations", json=station, headers=tokens[Role.CLINICAL]).status_code == 403
    )
    assert client.get("/v1/quarantine", headers=tokens[Role.READONLY]).status_code == 403
    assert client.get("/v1/stations", headers=tokens[Role.CLINICAL]).status_code == 403


def test_open_case_is_idempotent_and_conflicts_are_409(client: TestClient, tokens: Headers) -> None:
    first = client.post("/v1/cases", json=CASE, headers=tokens[Role.CLINICAL])
    assert first.status_code == 201
    assert first.json()["opened_by"] == "sys-clinical"
    again = client.post("/v1/cases", json=CASE, headers=tokens[Role.CLINICAL])
    assert (again.status_code, again.json()) == (200, first.json())
    other = client.post("/v1/cases", json={**CASE, "patient_id": "999"}, headers=tokens[Role.OPS])
    assert other.status_code == 409
    assert other.json()["code"] == "conflict"
    bad = client.post("/v1/cases", json={"case_id": "x"}, headers=tokens[Role.OPS])
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_request")


def test_case_timeline_newest_first_by_cursor(
    client: TestClient, store: SQLiteStore, tokens: Headers
) -> None:
    base = int(time.time()) - 100
    events = [vitals_event(case_id="c-100", occurred_at=base + i) for i in range(3)]
    ingest(store, *events)
    client.post("/v1/cases", json=CASE, headers=tokens[Role.CLINICAL])
    page1 = client.get("/v1/cases/c-100?limit=2", headers=tokens[Role.READONLY]).json()
    assert page1["patient_id"] == "1234567890"
    assert [e["event_id"] for e in page1["timeline"]] == [events[2].event_id, events[1].event_id]
    first = page1["timeline"][0]
    assert first["kind"] == "vital_signs"
    expected = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(base + 2))
    assert first["occurred_at"] == expected
    assert first["payload"]["readings"][0]["unit"] == "%"
    page2 = client.get(
        f"/v1/cases/c-100?limit=2&before={page1['next_cursor']}", headers=tokens[Role.READONLY]
    ).json()
    assert [e["event_id"] for e in page2["timeline"]] == [events[0].event_id]
    assert page2["next_cursor"] is None
    bad = client.get("/v1/cases/c-100?before=%%%", headers=tokens[Role.READONLY])
    assert (bad.status_code, bad.json()["code"]) == (400, "bad_cursor")


def test_unmatched_events_until_the_case_is_opened(
    client: TestClient, store: SQLiteStore, tokens: Headers
) -> None:
    event = vitals_event(case_id="c-100")
    ingest(store, event)
    unmatched = client.get("/v1/events/unmatched", headers=tokens[Role.OPS]).json()
    assert [e["event_id"] for e in unmatched["items"]] == [event.event_id]
    client.post("/v1/cases", json=CASE, headers=tokens[Role.CLINICAL])
    assert client.get("/v1/events/unmatched", headers=tokens[Role.OPS]).json()["items"] == []
    one = client.get(f"/v1/events/{event.event_id}", headers=tokens[Role.READONLY])
    assert one.json()["case_id"] == "c-100"
    missing = client.get("/v1/events/nope", headers=tokens[Role.READONLY])
    assert (missing.status_code, missing.json()["code"]) == (404, "event_not_found")


def test_list_cases_by_patient_paginated(client: TestClient, tokens: Headers) -> None:
    for i in range(3):
        body = {**CASE, "case_id": f"c-{i}"}
        client.post("/v1/cases", json=body, headers=tokens[Role.CLINICAL])
    client.post(
        "/v1/cases",
        json={**CASE, "case_id": "other", "patient_id": "5"},
        headers=tokens[Role.CLINICAL],
    )
    seen: list[str] = []
    url = "/v1/cases?patient_id=1234567890&limit=2"
    while url:
        page = client.get(url, headers=tokens[Role.READONLY]).json()
        seen += [c["case_id"] for c in page["items"]]
        cursor = page["next_cursor"]
        url = f"/v1/cases?patient_id=1234567890&limit=2&before={cursor}" if cursor else ""
    assert sorted(seen) == ["c-0", "c-1", "c-2"]
    closed = client.post("/v1/cases/c-1/close", headers=tokens[Role.CLINICAL])
    assert closed.status_code == 200 and closed.json()["closed_at"] is not None


def test_stations_register_retire_and_read(
    client: TestClient, store: SQLiteStore, tokens: Headers
) -> None:
    ingest(store, vitals_event(), vitals_event())
    new = client.post(
        "/v1/stations", json={"station_id": "st-02", "unit_id": UNIT}, headers=tokens[Role.OPS]
    )
    assert new.status_code == 201
    clash = client.post(
        "/v1/stations", json={"station_id": "st-02", "unit_id": "u-02"}, headers=tokens[Role.OPS]
    )
    assert clash.status_code == 409
    bad = client.post(
        "/v1/stations", json={"station_id": "a/b", "unit_id": UNIT}, headers=tokens[Role.OPS]
    )
    assert bad.status_code == 422
    listing = client.get("/v1/stations", headers=tokens[Role.READONLY]).json()
    assert [(s["station_id"], s["event_count"]) for s in listing] == [(STATION, 2), ("st-02", 0)]
    retired = client.post("/v1/stations/st-02/retire", headers=tokens[Role.OPS]).json()
    assert retired["retired_at"] is not None
    assert client.get("/v1/stations/zzz", headers=tokens[Role.OPS]).status_code == 404


def test_tokens_minted_by_ops_work_once_and_can_be_revoked(
    client: TestClient, tokens: Headers
) -> None:
    made = client.post(
        "/v1/tokens", json={"name": "dash", "role": "readonly"}, headers=tokens[Role.OPS]
    ).json()
    auth = {"Authorization": f"Bearer {made['token']}"}
    assert client.get("/v1/cases", headers=auth).status_code == 200
    listed = client.get("/v1/tokens", headers=tokens[Role.OPS]).json()
    assert made["token"] not in str(listed)
    assert client.post("/v1/tokens/dash/revoke", headers=tokens[Role.OPS]).json()["revoked"] == 1
    assert client.get("/v1/cases", headers=auth).status_code == 401


def test_health_and_metrics_need_no_token(client: TestClient, store: SQLiteStore) -> None:
    health = client.get("/healthz")
    assert (health.status_code, health.json()) == (
        200,
        {"status": "ok", "db": True, "mqtt_connected": False},
    )
    assert "puente_hub_ingest_queue_depth" in client.get("/metrics").text
    store.close()
    store.path.unlink()
    store.path.mkdir()  # the database file is gone: a directory stands in its place
    assert client.get("/healthz").status_code == 503


def test_openapi_docs_are_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    assert "/v1/cases/{case_id}" in client.get("/openapi.json").json()["paths"]
