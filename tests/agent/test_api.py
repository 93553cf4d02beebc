"""The local HTTP API behind its gate: Host, Origin, JSON-only writes, CORS and PNA, endpoints."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from protos import events_pb2
from tests.agent.conftest import ALLOWED_ORIGIN, SIM_MONITOR

Start = Callable[[AgentSettings], AgentService]
EVIL = "https://evil.example"


@pytest.fixture
def agent(make_settings: Callable[..., AgentSettings], start_agent: Start) -> AgentService:
    return start_agent(make_settings(devices=[SIM_MONITOR]))


@pytest.fixture
def http(agent: AgentService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=agent.http_url, timeout=10) as client:
        yield client


def post(
    http: httpx.Client, path: str, body: object, origin: str = ALLOWED_ORIGIN
) -> httpx.Response:
    return http.post(path, json=body, headers={"Origin": origin})


VITALS = {
    "case_id": "C-2025-1",
    "patient_id": "1234567890101",
    "device_id": "monitor-1",
    "payload": {
        "vital_signs": {
            "mode": "spot",
            "readings": [{"mdcCode": 150456, "value": 97, "unit": "%"}],
        }
    },
}


def test_status_answers_a_local_caller(http: httpx.Client, agent: AgentService) -> None:
    r = http.get("/v1/status")
    assert r.status_code == 200
    body = r.json()
    assert (body["station_id"], body["unit_id"], body["version"]) == ("st-1", "unit-1", "0.1.0")
    assert body["devices"] == [
        {
            "device_id": "monitor-1",
            "family": "vitals",
            "driver": "sim.monitor",
            "state": "CONNECTED",
            "model": "Puente simulated monitor",
            "serial": "SIM-0001",
            "error_code": "",
            "detail": "",
        }
    ]
    assert body["outbox"]["depth"] == 1  # the monitor's first DeviceStatus
    assert body["outbox"]["limit_bytes"] == 256 * 1024 * 1024
    assert body["link"]["connected"] is False
    assert body["link"]["in_flight"] == 0


def test_foreign_origin_is_refused_with_a_problem(http: httpx.Client) -> None:
    r = http.get("/v1/status", headers={"Origin": EVIL})
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "origin_not_allowed"
    assert EVIL in r.json()["detail"]
    assert "access-control-allow-origin" not in r.headers


def test_dns_rebinding_host_is_refused_even_for_unknown_paths(http: httpx.Client) -> None:
    for path in ("/v1/status", "/no-such-page", "/docs"):
        r = http.get(path, headers={"Host": "evil.example"})
        assert r.status_code == 421
        assert r.json()["code"] == "host_not_allowed"
    assert http.get("/v1/status", headers={"Host": "localhost:1234"}).status_code == 200
    assert http.get("/v1/status", headers={"Host": "[::1]"}).status_code == 200


def test_post_without_origin_is_refused(http: httpx.Client) -> None:
    r = http.post("/v1/events", json=VITALS)
    assert r.status_code == 403
    assert r.json()["code"] == "origin_required"


def test_post_as_text_plain_is_refused(http: httpx.Client) -> None:
    r = http.post(
        "/v1/events",
        content=b'{"case_id": "x"}',
        headers={"Origin": ALLOWED_ORIGIN, "Content-Type": "text/plain"},
    )
    assert r.status_code == 415
    assert r.json()["code"] == "json_required"


def test_preflight_answers_private_and_local_network_access(http: httpx.Client) -> None:
    r = http.options(
        "/v1/events",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
            "Access-Control-Request-Private-Network": "true",
            "Access-Control-Request-Local-Network": "true",
        },
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert r.headers["access-control-allow-private-network"] == "true"
    assert r.headers["access-control-allow-local-network"] == "true"
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "Content-Type" in r.headers["access-control-allow-headers"]
    assert "Origin" in r.headers["vary"]
    refused = http.options(
        "/v1/events", headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"}
    )
    assert refused.status_code == 403


def test_cors_echoes_the_exact_origin_never_a_wildcard(
    http: httpx.Client, agent: AgentService
) -> None:
    r = http.get("/v1/status", headers={"Origin": ALLOWED_ORIGIN})
    assert r.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert r.headers["vary"] == "Origin"
    own = f"http://127.0.0.1:{agent.http_port}"
    assert (
        http.get("/v1/status", headers={"Origin": own}).headers["access-control-allow-origin"]
        == own
    )
    assert http.get("/v1/status", headers={"Origin": "null"}).status_code == 403


def test_record_event_is_durable_and_answered_with_its_id(
    http: httpx.Client, agent: AgentService
) -> None:
    r = post(http, "/v1/events", VITALS)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["station_seq"] == 2  # after the monitor's DeviceStatus
    rows = agent.outbox.pending(1, 10)
    assert [(s, e) for s, e, _ in rows] == [(2, body["event_id"])]
    event = events_pb2.Event.FromString(rows[0][2])
    assert (event.station_id, event.unit_id, event.case_id, event.patient_id) == (
        "st-1",
        "unit-1",
        "C-2025-1",
        "1234567890101",
    )
    assert event.schema_version == 1
    assert event.vital_signs.readings[0].mdc_code == 150456


def test_bad_input_is_a_422_that_names_the_problem(http: httpx.Client) -> None:
    unknown = post(http, "/v1/events", {**VITALS, "payload": {"vitals": {}}})
    assert unknown.status_code == 422
    assert "'vitals'" in unknown.json()["detail"]
    bad_field = post(http, "/v1/events", {**VITALS, "payload": {"vital_signs": {"readingz": []}}})
    assert bad_field.status_code == 422
    assert "readingz" in bad_field.json()["detail"]
    missing = post(http, "/v1/events", {"case_id": "C-1"})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "payload"
    no_case = post(http, "/v1/events", {**VITALS, "case_id": ""})
    assert no_case.json()["code"] == "missing_field"
    bad_device = post(http, "/v1/events", {**VITALS, "device_id": "a/b"})
    assert bad_device.json()["code"] == "invalid_device_id"


def test_take_vitals_from_the_simulated_monitor(http: httpx.Client, agent: AgentService) -> None:
    r = post(
        http,
        "/v1/vitals/take",
        {"device_id": "monitor-1", "case_id": "C-9", "patient_id": "P-9", "timeout_s": 5},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert [x["mdc_code"] for x in body["readings"]] == [
        150456,
        149530,
        150021,
        150022,
        150364,
        151562,
    ]
    assert body["monitor_serial"] == "SIM-0001"
    event = events_pb2.Event.FromString(agent.outbox.pending(body["station_seq"] - 1, 1)[0][2])
    assert event.event_id == body["event_id"]
    assert event.vital_signs.mode == "spot"
    assert event.vital_signs.monitor.driver == "sim.monitor"
    unknown = post(
        http, "/v1/vitals/take", {"device_id": "nope", "case_id": "C", "patient_id": "P"}
    )
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "unknown_device"


def test_metrics_are_prometheus_text(http: httpx.Client) -> None:
    post(http, "/v1/events", VITALS)
    text = http.get("/metrics").text
    assert 'puente_agent_outbox_appends_total{result="accepted"} 2.0' in text
    assert "puente_agent_outbox_depth 2.0" in text
    assert "puente_agent_link_connected" in text


def test_full_outbox_answers_507_for_device_status(
    make_settings: Callable[..., AgentSettings], start_agent: Start
) -> None:
    limit = 256 * 1024  # counts the database files on disk, so above an empty outbox's size
    agent = start_agent(make_settings(outbox_limit_bytes=limit, outbox_hard_limit_bytes=2 * limit))
    status = {"device_id": "monitor-1", "payload": {"device_status": {"family": "vitals"}}}
    with httpx.Client(base_url=agent.http_url) as http:
        while agent.outbox.pressure().used_bytes < limit:
            assert post(http, "/v1/events", VITALS).status_code == 201
        r = post(http, "/v1/events", status)
        assert r.status_code == 507
        assert r.json()["code"] == "outbox_full"
        assert f"{limit} bytes" in r.json()["detail"]
        assert post(http, "/v1/events", VITALS).status_code == 201
