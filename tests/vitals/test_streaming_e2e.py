"""A telemedicine session end to end: Nonin bytes on a pty → agent → Mosquitto → hub → specialist.

Real processes: Mosquitto, the hub, the agent. The specialist's browser is an
SSE client of the hub; the station's UI is an SSE client of the agent and a
gRPC WatchSession client. The cable is pulled mid-session and plugged back.
"""

from __future__ import annotations

import json
import queue
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from drivers.vitals.ptysim import PtyPort
from drivers.vitals.simulators import nonin as nonin_sim
from protos import vitals_pb2, vitals_pb2_grpc
from tests.brokers import Mosquitto
from tests.e2e.processes import ORIGIN, Agent, Hub, wait_until

pytestmark = pytest.mark.e2e

UNIT = "unit-e2e"
STATION = "tele-zacapa-1"
CASE = "CASE-TELE-1"
PATIENT = "1234567890101"


def sse(url: str, headers: dict[str, str], out: queue.Queue[tuple[float, str, dict]]) -> None:
    """Read Server-Sent Events into ``out`` as (arrival time, event, data) until the stream ends."""
    event = "message"
    try:
        with httpx.stream("GET", url, headers=headers, timeout=httpx.Timeout(30, read=60)) as r:
            for line in r.iter_lines():
                if line == ": connected":
                    out.put((time.time(), "connected", {}))
                elif line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    out.put((time.time(), event, json.loads(line[6:])))
                    event = "message"
    except httpx.HTTPError:
        return


def take(q: queue.Queue[Any], n: int, timeout_s: float, kind: str = "reading") -> list[Any]:
    got: list[Any] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < n:
        try:
            item = q.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"only {len(got)} of {n} {kind} events in {timeout_s}s") from None
        if item[1] == kind:
            got.append(item)
    return got


@pytest.fixture
def station(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[tuple[Hub, Agent, PtyPort]]:
    hub = Hub(tmp_path / "hub", mosquitto.url, secrets.token_urlsafe(24)).start()
    port = PtyPort(tmp_path / "ttyUSB-nonin")
    agent = Agent(tmp_path / STATION, STATION, UNIT, mosquitto.url, device_poll_s=0.5)
    with agent.config.open("a") as f:
        f.write(
            '[[devices]]\ndevice_id = "monitor-1"\ndriver = "nonin.ascii"\n'
            f'[devices.options]\nport = "{port.link}"\nbaudrate = 9600\n'
        )
    try:
        hub.register_station(STATION, UNIT)
        with hub.api() as api:
            r = api.post(
                "/v1/cases", json={"case_id": CASE, "patient_id": PATIENT, "unit_id": UNIT}
            )
            assert r.status_code == 201, r.text
        agent.start()
        yield hub, agent, port
    finally:
        port.stop()
        agent.stop()
        hub.stop()


def test_session_streams_live_to_the_hub_and_survives_a_pulled_cable(
    station: tuple[Hub, Agent, PtyPort],
) -> None:
    hub, agent, port = station
    auth = {"Authorization": f"Bearer {hub.token}"}
    hub_events: queue.Queue[tuple[float, str, dict]] = queue.Queue()
    threading.Thread(
        target=sse, args=(f"{hub.url}/v1/cases/{CASE}/vitals/live", auth, hub_events), daemon=True
    ).start()
    take(hub_events, 1, 10, kind="connected")  # the subscription is registered at the hub

    local = {"Origin": ORIGIN}
    r = httpx.post(
        f"{agent.url}/v1/vitals/sessions",
        json={"device_id": "monitor-1", "case_id": CASE, "patient_id": PATIENT},
        headers=local,
        timeout=10,
    )
    assert r.status_code == 201, r.text
    session_id = r.json()["session_id"]
    agent_events: queue.Queue[tuple[float, str, dict]] = queue.Queue()
    threading.Thread(
        target=sse,
        args=(f"{agent.url}/v1/vitals/sessions/{session_id}/live", local, agent_events),
        daemon=True,
    ).start()
    take(agent_events, 1, 10, kind="connected")
    channel = agent.channel()
    watch = vitals_pb2_grpc.VitalsStub(channel).WatchSession(
        vitals_pb2.SessionRef(session_id=session_id), timeout=60
    )
    assert dict(watch.initial_metadata())["puente-subscribed"] == "1"
    [start] = take(hub_events, 1, 10, kind="session_start")
    assert start[2]["session_id"] == session_id

    # The monitor sends one line a second; SpO2 140 is impossible and is refused, not dropped.
    sent_at: list[float] = []
    for spo2, hr in ((97, 71), (140, 72), (96, 73)):
        sent_at.append(time.time())
        port.write(nonin_sim.encode_line(spo2, hr))
        time.sleep(1.0)
    got = take(hub_events, 6, 10)
    rows = [(d["mdc_code"], d["value"], d["status"], d["session_id"]) for _, _, d in got]
    assert rows == [
        (150456, 97.0, "accepted", session_id),
        (149530, 71.0, "accepted", session_id),
        (149530, 72.0, "accepted", session_id),
        (150456, 140.0, "rejected", session_id),
        (150456, 96.0, "accepted", session_id),
        (149530, 73.0, "accepted", session_id),
    ]
    latencies = [got[i][0] - sent_at[i // 2] for i in range(6)]
    assert max(latencies) < 2.0, latencies  # monitor → hub subscriber on loopback

    local_rows = [(d["mdc_code"], d["value"]) for _, _, d in take(agent_events, 6, 5)]
    assert local_rows == [
        (150456, 97.0),
        (149530, 71.0),
        (150456, 140.0),
        (149530, 72.0),
        (150456, 96.0),
        (149530, 73.0),
    ]
    grpc_rows = [(next(watch).reading.value) for _ in range(6)]
    assert grpc_rows == [97.0, 71.0, 140.0, 72.0, 96.0, 73.0]

    # Cable pulled mid-session: a DISCONNECTED status reaches the hub; the session goes on.
    port.unplug()
    wait_until(
        lambda: (
            hub.query(
                "SELECT count(*) FROM events WHERE kind = 'device_status' AND "
                "json_extract(payload_json, '$.device_status.state') = 'DISCONNECTED'"
            )[0][0]
            >= 1
            or _raw_disconnected(hub)
        ),
        30,
        "DISCONNECTED device status at the hub",
    )
    port.replug()
    time.sleep(2.5)  # the driver reopens the port (reconnect every second)
    port.write(nonin_sim.encode_line(95, 70))
    after = take(hub_events, 2, 15)
    assert [(d["mdc_code"], d["value"]) for _, _, d in after] == [(150456, 95.0), (149530, 70.0)]

    r = httpx.post(
        f"{agent.url}/v1/vitals/sessions/{session_id}/stop", json={}, headers=local, timeout=15
    )
    assert r.status_code == 200 and r.json()["active"] is False
    assert r.json()["interruptions"] == 1
    take(hub_events, 1, 10, kind="session_stop")

    with hub.api() as api:
        body = api.get(f"/v1/cases/{CASE}/vitals").json()
        assert [x["value"] for x in body["parameters"]["spo2"]] == [97.0, 96.0, 95.0]
        assert [x["value"] for x in body["rejected"]] == [140.0]
        [session] = body["sessions"]
        assert session["session_id"] == session_id and session["stopped_at"] is not None
        bundle = api.get(f"/v1/cases/{CASE}/vitals/fhir").json()
        kinds = sorted(e["resource"]["resourceType"] for e in bundle["entry"])
        assert kinds.count("DeviceUseStatement") == 1
    channel.close()


def _raw_disconnected(hub: Hub) -> bool:
    from protos import events_pb2

    for (raw,) in hub.query("SELECT raw FROM events WHERE kind = 'device_status'"):
        if events_pb2.Event.FromString(raw).device_status.state == events_pb2.DISCONNECTED:
            return True
    return False
