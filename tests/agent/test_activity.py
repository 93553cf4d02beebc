"""Device actions a site starts show on the agent's own page and can be refused there."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
import pytest

from edge_agent.capabilities.activity.service import ActivityBoard, RefusedAtStation
from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings

SITE = "https://medi.igss.example"


def test_a_refused_action_is_cancelled_at_the_device_and_raises() -> None:
    board = ActivityBoard()
    cancelled = threading.Event()
    with (
        pytest.raises(RefusedAtStation),
        board.track(SITE, "fingerprint.verify", "C-1", "P-1", cancel=cancelled.set) as activity,
    ):
        [running] = board.snapshot()["running"]
        assert (running["origin"], running["action"], running["case_id"]) == (
            SITE,
            "fingerprint.verify",
            "C-1",
        )
        assert board.refuse(activity.activity_id) is True
        assert cancelled.is_set()
    snap = board.snapshot()
    assert snap["running"] == []
    assert [(a["action"], a["state"]) for a in snap["recent"]] == [
        ("fingerprint.verify", "refused")
    ]


def test_a_finished_action_cannot_be_refused_any_more() -> None:
    board = ActivityBoard()
    with board.track(SITE, "vitals.take", "C-2") as activity:
        pass
    assert board.refuse(activity.activity_id) is False
    assert board.snapshot()["recent"][0]["state"] == "done"


def test_only_the_agents_own_page_lists_and_refuses_actions(
    make_settings: Callable[..., AgentSettings], start_agent: Callable[..., AgentService]
) -> None:
    agent = start_agent(make_settings())
    cancelled = threading.Event()
    activity = agent.activity.begin(SITE, "scan", "C-3", "P-3", cancel=cancelled.set)
    with httpx.Client(base_url=agent.http_url, timeout=10) as http:
        foreign = http.post(
            f"/v1/activity/{activity.activity_id}/refuse", json={}, headers={"Origin": SITE}
        )
        assert foreign.status_code == 403 and not cancelled.is_set()
        listed = http.get("/v1/activity").json()
        assert [a["case_id"] for a in listed["running"]] == ["C-3"]
        own = http.post(
            f"/v1/activity/{activity.activity_id}/refuse",
            json={},
            headers={"Origin": agent.http_url},
        )
        assert own.json() == {"activity_id": activity.activity_id, "refused": True}
        assert cancelled.is_set()
        decisions = [e["decision"] for e in http.get("/v1/audit").json()]
        assert "action_refused_at_station" in decisions
