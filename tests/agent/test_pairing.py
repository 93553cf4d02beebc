"""Pairing an origin that provisioning did not allow: code, approval at the agent, token, revoke."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest

from edge_agent.capabilities.pairing.service import LockedOut, PairingStore
from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from tests.grpc_apps import OPERATOR_PIN

Start = Callable[[AgentSettings], AgentService]
NEW_SITE = "https://telemedicina.example"
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def agent(make_settings: Callable[..., AgentSettings], start_agent: Start) -> AgentService:
    return start_agent(make_settings(pairing_max_failures=2))


@pytest.fixture
def http(agent: AgentService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=agent.http_url, timeout=10) as client:
        yield client


def own(agent: AgentService) -> dict[str, str]:
    return {**JSON, "Origin": agent.http_url}


def test_a_new_site_pairs_after_the_user_approves_and_then_uses_its_token(
    http: httpx.Client, agent: AgentService
) -> None:
    site = {**JSON, "Origin": NEW_SITE}
    before = http.get("/v1/status", headers={"Origin": NEW_SITE})
    assert before.status_code == 403 and before.json()["code"] == "origin_not_allowed"

    asked = http.post("/v1/pairing/requests", json={"app_name": "Telemedicina"}, headers=site)
    assert asked.status_code == 201, asked.text
    assert asked.headers["access-control-allow-origin"] == NEW_SITE
    request_id, code = asked.json()["request_id"], asked.json()["code"]
    assert len(code) == 6 and code.isdigit()

    # The agent's own page shows the same code; the site itself cannot approve.
    listed = http.get("/v1/pairings").json()
    assert [(p["origin"], p["code"]) for p in listed["pending"]] == [(NEW_SITE, code)]
    self_approve = http.post(f"/v1/pairings/requests/{request_id}/approve", json={}, headers=site)
    assert self_approve.status_code == 403
    waiting = http.get(f"/v1/pairing/requests/{request_id}", headers={"Origin": NEW_SITE})
    assert waiting.json() == {"request_id": request_id, "state": "pending", "token": None}

    agent.operator_pin.set(OPERATOR_PIN)  # the person at the PC types it on the agent's page
    approved = http.post(
        f"/v1/pairings/requests/{request_id}/approve",
        json={"operator_pin": OPERATOR_PIN},
        headers=own(agent),
    )
    assert approved.status_code == 200, approved.text
    claimed = http.get(f"/v1/pairing/requests/{request_id}", headers={"Origin": NEW_SITE}).json()
    assert claimed["state"] == "approved" and claimed["token"]
    token = claimed["token"]
    # Handed over once only.
    again = http.get(f"/v1/pairing/requests/{request_id}", headers={"Origin": NEW_SITE}).json()
    assert again["token"] is None and again["state"] == "claimed"

    assert http.get("/v1/status", headers={"Origin": NEW_SITE}).status_code == 403
    ok = http.get("/v1/status", headers={"Origin": NEW_SITE, "X-Puente-Token": token})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == NEW_SITE
    by_query = http.get(f"/v1/status?puente_token={token}", headers={"Origin": NEW_SITE})
    assert by_query.status_code == 200
    stolen = http.get(
        "/v1/status", headers={"Origin": "https://other.example", "X-Puente-Token": token}
    )
    assert stolen.status_code == 403

    revoked = http.post("/v1/pairings/revoke", json={"origin": NEW_SITE}, headers=own(agent))
    assert revoked.json()["revoked"] is True
    after = http.get("/v1/status", headers={"Origin": NEW_SITE, "X-Puente-Token": token})
    assert after.status_code == 403

    decisions = [e["decision"] for e in http.get("/v1/audit").json()]
    for expected in (
        "pairing_requested",
        "pairing_approved",
        "pairing_token_claimed",
        "pairing_revoked",
        "pairing_token_invalid",
        "origin_not_allowed",
    ):
        assert expected in decisions
    log_text = (agent.settings.data_dir / "audit.log").read_text()
    assert token not in log_text and code not in log_text
    assert all(json.loads(line)["decision"] for line in log_text.splitlines())


def test_refused_pairings_lock_the_origin_out(http: httpx.Client, agent: AgentService) -> None:
    site = {**JSON, "Origin": NEW_SITE}
    for _ in range(2):
        request_id = http.post("/v1/pairing/requests", json={}, headers=site).json()["request_id"]
        refused = http.post(
            f"/v1/pairings/requests/{request_id}/refuse", json={}, headers=own(agent)
        )
        assert refused.status_code == 200
    locked = http.post("/v1/pairing/requests", json={}, headers=site)
    assert locked.status_code == 429 and locked.json()["code"] == "pairing_locked_out"


def test_a_flooding_origin_is_rate_limited(
    make_settings: Callable[..., AgentSettings], start_agent: Start
) -> None:
    # A refill of one request per 100 s makes the bucket's edge exact, whatever the machine.
    agent = start_agent(make_settings(rate_limit_per_s=0.01, rate_limit_burst=8))
    site = {"Origin": "https://medi.igss.example"}
    with httpx.Client(base_url=agent.http_url, timeout=10) as http:
        statuses = [http.get("/v1/status", headers=site).status_code for _ in range(12)]
        assert statuses == [200] * 8 + [429] * 4
        limited = http.get("/v1/status", headers=site)
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert limited.json()["code"] == "rate_limited"
        # Other origins and local programs are not starved by it.
        assert http.get("/v1/status").status_code == 200
        other = http.get("/v1/pairing/status", headers={"Origin": "https://otra.example"})
        assert other.status_code == 200


def test_the_pairing_page_is_served_with_anti_framing_headers(http: httpx.Client) -> None:
    page = http.get("/ui/pairing")
    assert page.status_code == 200 and "Emparejar" in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert http.get("/ui/../settings.py").status_code == 404


def test_pending_requests_expire_and_count_as_failures(tmp_path) -> None:
    store = PairingStore(tmp_path / "p.sqlite3", code_ttl_s=10, max_failures=2)
    store.request(NEW_SITE, now=0)
    store.request(NEW_SITE, now=1)
    assert [r.state for r in store.pending(now=5)] == ["pending", "pending"]
    assert store.pending(now=20) == []
    with pytest.raises(LockedOut):
        store.request(NEW_SITE, now=21)
    store.close()


def test_pairings_survive_a_restart_but_tokens_are_stored_hashed(tmp_path) -> None:
    store = PairingStore(tmp_path / "p.sqlite3")
    request = store.request(NEW_SITE, now=0)
    store.approve(request.request_id, now=1)
    token = store.poll(request.request_id, NEW_SITE, now=2).token
    assert token
    store.close()
    reopened = PairingStore(tmp_path / "p.sqlite3")
    assert reopened.check(NEW_SITE, token) and not reopened.check(NEW_SITE, token + "x")
    assert token.encode() not in (tmp_path / "p.sqlite3").read_bytes()
    reopened.close()


def test_any_origin_can_learn_whether_it_must_pair(http: httpx.Client, agent: AgentService) -> None:
    unknown = http.get("/v1/pairing/status", headers={"Origin": NEW_SITE})
    assert unknown.status_code == 200
    assert unknown.headers["access-control-allow-origin"] == NEW_SITE
    assert unknown.json() == {
        "origin": NEW_SITE,
        "allowed": False,
        "paired": False,
        "token_valid": False,
    }
    allowed = http.get("/v1/pairing/status", headers={"Origin": "https://medi.igss.example"})
    assert allowed.json()["allowed"] is True
