"""The ops console in a real headless Chromium against a real hub, Mosquitto and a station.

Sign in, see the fleet as the stations report it, import a CSV with bad rows, create
an enrollment code, replace a device, retire with confirmation; a clinician is
refused the fleet pages; a form post without the CSRF token is refused.
Screenshots of each page are kept in tests/artifacts/.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.service import HubService
from hub.settings import HubSettings
from protos import CONTRACT_VERSION, events_pb2
from protos.event_ids import new_event_id
from provisioning import csv_io, enrollment
from tests.brokers import Mosquitto
from tests.browser.conftest import screenshot
from tests.e2e.processes import write_toml
from tests.hub.events import batch_bytes, state_bytes
from tests.hub.station import FakeStation

pytestmark = pytest.mark.e2e

OPS_TOKEN = "ops-console-test-token"
PASSWORD = "correct horse battery"
HEADER = ",".join(csv_io.COLUMNS)
PUENTE = [sys.executable, "-m", "puente_cli.main"]


def wait_for(pred: Any, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return bool(pred())


def add_user(config: Path, name: str, role: str) -> subprocess.CompletedProcess[str]:
    """`puente hub user add`, as ops would run it (password from the environment)."""
    return subprocess.run(
        [*PUENTE, "hub", "user", "add", "--name", name, "--role", role, "--config", str(config)],
        env=dict(os.environ, PUENTE_HUB_USER_PASSWORD=PASSWORD),
        capture_output=True,
        text=True,
        timeout=60,
    )


def device_status_event(station: str, unit: str, device: str, seq: int) -> events_pb2.Event:
    event = events_pb2.Event(
        event_id=new_event_id(),
        station_id=station,
        unit_id=unit,
        device_id=device,
        station_seq=seq,
        schema_version=CONTRACT_VERSION,
    )
    event.occurred_at.GetCurrentTime()
    event.device_status.family = "vitals"
    event.device_status.state = events_pb2.CONNECTED
    return event


@pytest.fixture
def hub(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[HubService]:
    values = {
        "data_dir": str(tmp_path / "hub"),
        "broker_url": mosquitto.url,
        "http_port": 0,
        "bootstrap_token": OPS_TOKEN,
        "mqtt_client_id": "hub-console-test",
    }
    config = write_toml(tmp_path / "hub.toml", values)
    service = HubService(HubSettings(**values))  # type: ignore[arg-type]
    service.start()
    service.wait_ready(20)
    service.config_file = config  # type: ignore[attr-defined]
    try:
        yield service
    finally:
        service.stop()


def _seed(hub: HubService, mosquitto: Mosquitto) -> None:
    api = httpx.Client(
        base_url=hub.http_url, headers={"Authorization": f"Bearer {OPS_TOKEN}"}, timeout=20
    )
    assert api.post("/v1/units", json={"unit_id": "U1", "name": "Zona 9"}).status_code == 201
    for station in ("st-1", "st-2"):
        reply = api.post("/v1/stations", json={"station_id": station, "unit_id": "U1"})
        assert reply.status_code == 201
    reply = api.put(
        "/v1/stations/st-1/devices/monitor-1",
        json={
            "device_id": "monitor-1",
            "device_type": "monitor",
            "driver": "sim.monitor",
            "model": "SIM",
            "serial": "SN-OLD",
        },
    )
    assert reply.status_code == 200, reply.text
    # st-1 is on line: its birth message and a device report (clock offset, health).
    station = FakeStation(mosquitto.port, "st-1", "U1")
    try:
        station.publish(state_bytes(station_id="st-1", unit_id="U1", depth=3), "state", True)
        station.publish(batch_bytes(device_status_event("st-1", "U1", "monitor-1", 1)))
        assert station.take(1, timeout=20)
        assert wait_for(lambda: (s := hub.store.get_station("st-1")) is not None and s.online)
    finally:
        station.client.disconnect()  # a clean disconnect: no last will, st-1 stays on line
        station.client.loop_stop()


def _sign_in(page: Any, base: str, name: str, target: str = "/console/fleet") -> None:
    page.goto(f"{base}{target}")
    assert "/console/login" in page.url
    page.get_by_label("User").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_ops_console_in_chromium(
    hub: HubService, mosquitto: Mosquitto, chromium: Any, tmp_path: Path
) -> None:
    config = hub.config_file  # type: ignore[attr-defined]
    done = add_user(config, "ana", "ops")
    assert done.returncode == 0, done.stderr
    assert add_user(config, "ana", "ops").returncode == 1  # exists
    assert add_user(config, "luis", "clinician").returncode == 0
    _seed(hub, mosquitto)
    base = hub.http_url
    page = chromium.new_page()
    page.set_extra_http_headers({"Accept-Language": "en"})

    # Not signed in: the fleet sends to the sign-in page; a wrong password is refused.
    page.goto(f"{base}/console/fleet")
    assert page.url.endswith("/console/login?next=/console/fleet")
    page.get_by_label("User").fill("ana")
    page.get_by_label("Password").fill("wrong password!")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "Wrong user name or password."
    screenshot(page, "console-login-refused")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/console/fleet")

    # The fleet: st-1 on line (its state message), st-2 never heard from.
    cookie = next(c for c in chromium.cookies() if c["name"] == "puente_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    row1 = page.locator("tr[data-station='st-1']")
    assert row1.locator("[data-state]").get_attribute("data-state") == "online"
    cells = row1.locator("td").all_inner_texts()
    assert cells[0] == "Online"
    assert cells[3] == "3"  # outbox depth from the state message
    assert cells[4] == "1"  # events
    # devices: registered, and what the station says it runs (this one sent no list)
    assert cells[5] == "1 registered; the station has not reported its devices"
    # Clock offset measured at ingest, in words; the number rides along for scripts.
    assert re.fullmatch(
        r"-?\d+", row1.locator("[data-clock-offset]").get_attribute("data-clock-offset") or ""
    )
    assert cells[2].startswith(("On time", "Ahead by", "Behind by")), cells[2]
    row2 = page.locator("tr[data-station='st-2']")
    assert row2.locator("td").all_inner_texts()[:2] == ["Offline", "never"]
    assert page.get_by_role("heading", name="U1 — Zona 9").count() == 1
    screenshot(page, "console-fleet")

    # A station: devices with their health; replace the monitor (history keeps both).
    page.get_by_role("link", name="st-1").click()
    page.wait_for_url(f"{base}/console/stations/st-1")
    device = page.locator("tr[data-device='monitor-1']")
    assert "connected" in device.inner_text()
    page.get_by_label("New serial number").fill("SN-NEW")
    page.get_by_role("button", name="Replace device").click()
    assert page.get_by_role("status").inner_text().startswith("Device replaced")
    assert [d.serial for d in hub.fleet.registry.devices("st-1")] == ["SN-NEW"]
    history = hub.fleet.registry.device_history("st-1")
    assert [(r.device.serial, r.removed_at is None) for r in history] == [
        ("SN-OLD", False),
        ("SN-NEW", True),
    ]
    screenshot(page, "console-station")

    # An enrollment code, shown once; the hub keeps only its hash.
    page.get_by_role("button", name="Create enrollment code").click()
    code = page.locator("#enrollment-code").inner_text()
    assert re.fullmatch(r"[A-Z0-9]{4}(-[A-Z0-9]{4}){3}", code), code
    record = hub.fleet.registry.find_code(enrollment.code_hash(code))
    assert record is not None and record.station_id == "st-1"
    assert record.created_by == "console:ana"
    screenshot(page, "console-enrollment-code")

    # CSV import: good rows stored, each bad row listed with its line and reason.
    page.goto(f"{base}/console/import")
    csv = "\n".join(
        [
            HEADER,
            "U2,Xela,st-9,,,,,,,,,,",
            "U7,,st-10,,,,,,,,,,",  # unknown unit
            "U1,,st-11,monitor-1,vitals,nonin.format2,BM3,SN3,,,/dev/ttyUSB0,14400,N",  # baud
            "U2,,st-1,,,,,,,,,,",  # st-1 is in U1
        ]
    )
    page.get_by_label("Or paste the CSV here").fill(csv)
    page.get_by_role("button", name="Import").click()
    summary = page.locator("#import-summary").inner_text()
    assert summary.startswith("4 row(s) read: 1 unit(s), 1 station(s), 0 device(s) stored; 3 row")
    rows = page.locator("#row-errors tbody tr")
    got = [tuple(rows.nth(i).locator("td").all_inner_texts()[:2]) for i in range(rows.count())]
    assert got == [
        ("3", "unknown_unit"),
        ("4", "setting_not_allowed"),
        ("5", "station_in_other_unit"),
    ]
    baud = rows.nth(1).locator("td").all_inner_texts()
    assert baud[2] == "baud_rate"  # the column at fault, the problem in English, what is allowed
    assert baud[3].startswith("'baud_rate' 14400 is not supported by driver nonin.format2")
    assert "no es admitido" not in baud[3]
    assert "9600" in baud[4]
    assert hub.store.get_station("st-9") is not None
    assert hub.store.get_station("st-10") is None
    screenshot(page, "console-import-errors")

    # Retire st-2: a confirmation page; a wrong id changes nothing, the right one retires.
    page.goto(f"{base}/console/stations/st-2")
    page.get_by_role("link", name="Retire the station…").click()
    page.wait_for_url(f"{base}/console/stations/st-2/retire")
    screenshot(page, "console-retire-confirm")
    page.get_by_label("To confirm, type the station id (st-2)").fill("st-1")
    page.get_by_role("button", name="Retire the station").click()
    assert "does not match" in page.get_by_role("alert").inner_text()
    assert hub.store.get_station("st-2").retired_at is None  # type: ignore[union-attr]
    page.get_by_label("To confirm, type the station id (st-2)").fill("st-2")
    page.get_by_role("button", name="Retire the station").click()
    assert page.get_by_role("status").inner_text().startswith("Station retired")
    assert hub.store.get_station("st-2").retired_at is not None  # type: ignore[union-attr]
    page.goto(f"{base}/console/fleet")
    state = page.locator("tr[data-station='st-2'] [data-state]")
    assert state.get_attribute("data-state") == "retired"

    # Spanish labels, the page says so to assistive technology.
    page.get_by_role("button", name="Español").click()
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.get_by_role("heading", level=1).inner_text() == "Unidades médicas y estaciones"
    screenshot(page, "console-fleet-es")

    # A form post without the session's CSRF token is refused, even with the cookie.
    session = next(c for c in chromium.cookies() if c["name"] == "puente_session")
    forged = httpx.post(
        f"{base}/console/stations/st-1/retire",
        data={"confirm": "st-1"},
        cookies={"puente_session": session["value"]},
    )
    assert forged.status_code == 403
    assert hub.store.get_station("st-1").retired_at is None  # type: ignore[union-attr]

    # A clinician signs in but is refused the fleet pages.
    page.get_by_role("button", name="Cerrar sesión").click()
    page.wait_for_url(f"{base}/console/login")
    _sign_in(page, base, "luis")
    response = page.goto(f"{base}/console/fleet")
    assert response is not None and response.status == 403
    assert page.get_by_role("heading", level=1).inner_text() == "Access denied"
    assert "clinician" in page.locator("main").inner_text()
    assert page.get_by_role("link", name="Fleet").count() == 0  # not in the nav either
    screenshot(page, "console-clinician-refused")
    assert page.goto(f"{base}/console/import").status == 403  # type: ignore[union-attr]
    assert page.goto(f"{base}/console/stations/st-1").status == 403  # type: ignore[union-attr]
