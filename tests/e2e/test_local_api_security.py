"""The agent's local API refuses foreign origins and rebinding hosts, on a real agent process."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.e2e.processes import ORIGIN, Agent, Hub, wait_until

pytestmark = pytest.mark.e2e


def test_foreign_origin_and_foreign_host_are_refused(
    hub: Hub, make_agent: Callable[..., Agent]
) -> None:
    agent = make_agent("station-s")
    body = {"case_id": "C1", "device_id": "m", "payload": {"device_status": {"family": "vitals"}}}

    allowed = httpx.post(f"{agent.url}/v1/events", json=body, headers={"Origin": ORIGIN})
    assert allowed.status_code == 201, allowed.text
    assert allowed.headers["access-control-allow-origin"] == ORIGIN

    foreign = httpx.post(
        f"{agent.url}/v1/events", json=body, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403
    assert "evil.example" in foreign.text
    assert foreign.headers.get("access-control-allow-origin") in (None, "")

    rebinding = httpx.get(f"{agent.url}/v1/status", headers={"Host": "attacker.example:80"})
    assert rebinding.status_code in (403, 421)

    read_by_foreign = httpx.get(
        f"{agent.url}/v1/status", headers={"Origin": "https://evil.example"}
    )
    assert read_by_foreign.status_code == 403

    # Only the allowed call became an event.
    wait_until(lambda: agent.outbox_depth() == 0, 20, "outbox drained")
    assert [event_id for event_id, _ in hub.stored("station-s")] == [allowed.json()["event_id"]]
