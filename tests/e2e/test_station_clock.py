"""A station whose clock runs fast: its facts reach the case flagged, it learns it, ops see it."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.brokers import Mosquitto
from tests.e2e.conftest import UNIT
from tests.e2e.processes import Agent, Hub, record_burst, wait_until

pytestmark = pytest.mark.e2e

LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")


@pytest.fixture
def strict_hub(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[Hub]:
    """A hub whose time window is one hour: a two-hours-fast clock is outside it."""
    process = Hub(
        tmp_path / "hub", mosquitto.url, secrets.token_urlsafe(24), max_clock_skew_s=3600
    ).start()
    try:
        yield process
    finally:
        process.stop()


# libfaketime 0.9.10 with an unfaked monotonic clock answers EINVAL to the absolute
# clock_nanosleep of Python's time.sleep (faking the monotonic clock too hangs timed thread
# waits): the faked agent gets a time.sleep made of a timed wait, which works under it.
_SLEEP_WORKAROUND = """
import threading, time
def _sleep(seconds):
    if seconds > 0:
        threading.Event().wait(seconds)
time.sleep = _sleep
"""


def fast_agent(tmp_path: Path, mosquitto: Mosquitto, hub: Hub) -> Agent:
    if not LIBFAKETIME.exists():
        pytest.fail(f"{LIBFAKETIME} missing: scripts/test installs Debian's libfaketime")
    hub.register_station("station-fast", UNIT)
    agent = Agent(tmp_path / "station-fast", "station-fast", UNIT, mosquitto.url)
    site = tmp_path / "faketime-site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(_SLEEP_WORKAROUND)
    agent.env = {
        "LD_PRELOAD": str(LIBFAKETIME),
        "FAKETIME": "+2h",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        "PYTHONPATH": os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p),
    }
    return agent


def test_a_fast_station_clock_never_loses_facts_and_is_reported(
    tmp_path: Path, mosquitto: Mosquitto, strict_hub: Hub
) -> None:
    hub = strict_hub
    agent = fast_agent(tmp_path, mosquitto, hub).start()
    with hub.api() as api:
        opened = api.post(
            "/v1/cases",
            json={"case_id": "CASE-CLOCK", "patient_id": "1234567890101", "unit_id": UNIT},
        )
        assert opened.status_code == 201, opened.text
    try:
        acknowledged, failed = record_burst(agent, 200, case_id="CASE-CLOCK")
        assert failed == 0
        wait_until(lambda: agent.outbox_depth() == 0, 60, "outbox drained")
        # Before: quarantined as bad_timestamp, REJECTED, deleted at the station: lost.
        rows = hub.query(
            "SELECT event_id, time_flag, clock_offset_ms FROM events WHERE station_id = ?",
            "station-fast",
        )
        assert {r[0] for r in rows} == set(acknowledged)
        assert {r[1] for r in rows} == {"station_clock_off"}
        assert all(r[2] < -7100_000 for r in rows)
        assert hub.query("SELECT count(*) FROM quarantine")[0][0] == 0

        # The station learnt it from its receipts, and says so, in both languages.
        status = agent.status()
        assert -7_260_000 < status["clock_offset_ms"] < -7_140_000
        assert any("ahead" in w and "adelantado" in w for w in status["warnings"])
        with hub.api() as api:
            wait_until(
                lambda: any(
                    "adelantado" in w
                    for w in api.get("/v1/stations/station-fast").json()["warnings"]
                ),
                20,
                "the warning on the fleet",
            )
            station = api.get("/v1/stations/station-fast").json()
            assert station["clock_offset_known"] is True
            # The case says the time is doubtful: flagged in the API, in words on the page.
            timeline = api.get("/v1/cases/CASE-CLOCK").json()["timeline"]
            assert timeline and {e["time_flag"] for e in timeline} == {"station_clock_off"}

        # The clock is corrected, the agent restarts: the station shows online (its last
        # state was written with the fast clock and must not hide the new one).
        agent.stop()
        agent.env = {}  # the PC's clock is right again
        agent.start()
        with hub.api() as api:
            wait_until(
                lambda: api.get("/v1/stations/station-fast").json()["online"] is True,
                20,
                "station online after the clock was corrected",
            )
        more, _ = record_burst(agent, 20, case_id="CASE-CLOCK")
        wait_until(lambda: agent.outbox_depth() == 0, 60, "second burst drained")
        flags = dict(
            hub.query("SELECT event_id, time_flag FROM events WHERE station_id = ?", "station-fast")
        )
        assert all(flags[e] == "" for e in more), "a right clock is not flagged"
        wait_until(lambda: agent.status()["warnings"] == [], 30, "the clock warning cleared")
    finally:
        agent.stop()
