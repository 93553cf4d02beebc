"""Local programs are rate-limited too, pairing is capped across origins, and every such
refusal says when to try again (Retry-After), on a real agent process over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from tests.e2e.processes import ORIGIN, Agent

pytestmark = pytest.mark.e2e

JSON = {"Content-Type": "application/json"}


def test_a_local_program_without_origin_is_rate_limited_apart_from_web_origins(
    make_agent: Callable[..., Agent],
) -> None:
    # One request per 100 s refills the bucket: its edge is exact whatever the machine's speed.
    agent = make_agent("station-r1", local_rate_limit_per_s=0.01, local_rate_limit_burst=8)
    with httpx.Client(base_url=agent.url, timeout=10) as http:
        # Starting the agent already polled /v1/status without an Origin: at most 8 are left.
        statuses = [http.get("/v1/status").status_code for _ in range(9)]
        assert 429 in statuses and set(statuses) <= {200, 429}
        assert statuses[statuses.index(429) :] == [429] * (9 - statuses.index(429))
        limited = http.get("/v1/status")
        assert limited.status_code == 429, limited.text
        problem = limited.json()
        assert problem["code"] == "rate_limited" and "sin Origin" in problem["detail"]
        assert int(limited.headers["retry-after"]) >= 1
        # A write from a local program is limited the same way, before it reaches the outbox.
        body = {"case_id": "C1", "device_id": "m", "payload": {"device_status": {}}}
        assert http.post("/v1/events", json=body).status_code in (403, 429)
        # The allowed web origin has its own budget and is not starved by local programs.
        allowed = http.get("/v1/status", headers={"Origin": ORIGIN})
        assert allowed.status_code == 200, allowed.text
        # The refusals are audited, but a flood is written once, not once per request.
        audit = http.get("/v1/audit", headers={"Origin": agent.url}).json()
        assert [e["decision"] for e in audit].count("rate_limited") == 1


def test_pairing_is_capped_across_origins_and_refusals_carry_retry_after(
    make_agent: Callable[..., Agent],
) -> None:
    agent = make_agent(
        "station-r2",
        pairing_max_pending=3,
        pairing_requests_per_min=0.01,  # after the burst of 3, one request per 100 minutes
        pairing_code_ttl_s=1.0,
        pairing_max_failures=1,
        pairing_lockout_s=600.0,
    )
    sites = [f"https://sitio-{n}.example" for n in range(5)]
    with httpx.Client(base_url=agent.url, timeout=10) as http:

        def ask(site: str) -> httpx.Response:
            return http.post("/v1/pairing/requests", json={}, headers={**JSON, "Origin": site})

        for site in sites[:3]:
            assert ask(site).status_code == 201
        # A fourth origin (any page can make up a new one) finds the user's page full.
        full = ask(sites[3])
        assert full.status_code == 429, full.text
        assert full.json()["code"] == "pairing_busy"
        assert 1 <= int(full.headers["retry-after"]) <= 2  # the oldest code expires within 1 s

        time.sleep(1.5)  # the three codes expire unanswered: each origin is locked out
        locked = ask(sites[0])
        assert locked.status_code == 429 and locked.json()["code"] == "pairing_locked_out"
        assert 590 <= int(locked.headers["retry-after"]) <= 601

        # Nothing waits now, but the requests across all origins are spent for a while.
        spent = ask(sites[4])
        assert spent.status_code == 429 and spent.json()["code"] == "pairing_busy"
        assert int(spent.headers["retry-after"]) > 60
        decisions = [
            e["decision"] for e in http.get("/v1/audit", headers={"Origin": agent.url}).json()
        ]
        assert "pairing_busy" in decisions and "pairing_locked_out" in decisions
