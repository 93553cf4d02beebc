"""Every real driver of the catalogue, registered by CSV and by the ops console, runs at the
station under the same name, and the fleet page lists what the station reports beside it.

Simulators stand behind the real drivers: ptys for the serial monitors and the serial barcode
scanner, an MLLP listener, the eSCL simulator, SANE's test backend, a SoftHSM2 token and
libfprint's virtual_image reader. Two have nothing to stand behind them on a build machine
(a USB fingerprint reader on the bus, a keyboard-wedge scanner needs /dev/uinput): the page
must say, in words, that they are disconnected and since when.
"""

from __future__ import annotations

import csv
import io
import json
import re
import socket
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from drivers.scanner.escl_sim import EsclSimulator
from drivers.token.sim import SoftHsm, softhsm_module
from drivers.vitals.ptysim import PtyPort
from hub.service import HubService
from hub.web.auth import LocalUsers, WebRole
from protos import device_catalogue as catalogue
from protos import station_config as sealed
from protos.topics import config as config_topic
from provisioning import csv_io
from tests.provisioning.pki import TlsMosquitto
from tests.provisioning.test_enrollment_e2e import _agent, _enroll
from tests.scanning import sane_device

OPS = {"Authorization": "Bearer ops-secret-e2e"}
PASSWORD = "correct horse battery"
UNIT, STATION = "U16", "st-16"
SERIAL_DRIVERS = (
    "nonin.ascii",
    "nonin.format2",
    "masimo.ascii1",
    "contec.cms50d",
    "hl7.pcd01.serial",
    "barcode.serial",
)
NOTHING_BEHIND = {"usb.fingerprint", "barcode.hid"}  # no USB bus or uinput device to stand in


def wait_for(pred: Callable[[], object], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    return bool(pred())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _console(hub: HubService, lang: str) -> httpx.Client:
    users = LocalUsers(hub.store)
    if users.users.get("ops-16") is None:
        users.add("ops-16", WebRole.OPS, PASSWORD)
    web = httpx.Client(base_url=hub.http_url, headers={"Accept-Language": lang}, timeout=20)
    csrf = _csrf(web.get("/console/login").text)
    signed = web.post(
        "/console/login",
        data={"csrf": csrf, "name": "ops-16", "password": PASSWORD, "next": "/console/fleet"},
    )
    assert signed.status_code in (200, 303), signed.text
    return web


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def _csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=csv_io.COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({"unit_id": UNIT, "station_id": STATION, **row})
    return out.getvalue()


def test_every_real_driver_registered_by_csv_and_console_runs_and_shows_connected(
    hub: HubService,
    tls_mosquitto: TlsMosquitto,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if softhsm_module() is None:
        pytest.fail("SoftHSM2 is not installed: run scripts/test, which installs softhsm2")
    # -- the simulators behind the real drivers ------------------------------------------
    ptys = {name: PtyPort(tmp_path / f"pty-{name}") for name in SERIAL_DRIVERS}
    escl = EsclSimulator().start()
    hsm = SoftHsm(tmp_path / "softhsm")
    hsm.init_token("station-16", "1234-5678")
    monkeypatch.setenv("SOFTHSM2_CONF", str(hsm.conf))
    monkeypatch.setenv("FP_VIRTUAL_IMAGE", str(tmp_path / "fp-virtual.sock"))
    mllp_port = _free_port()

    api = httpx.Client(base_url=hub.http_url, headers=OPS, timeout=20)
    assert api.post("/v1/units", json={"unit_id": UNIT, "name": "Zona 16"}).status_code == 201
    made = api.post("/v1/stations", json={"station_id": STATION, "unit_id": UNIT})
    assert made.status_code == 201, made.text

    # -- by CSV: the monitors, the scanners, the serial barcode scanner ----------------------
    def serial_row(device_id: str, driver: str, serial: str, baud: str = "") -> dict[str, str]:
        return {
            "device_id": device_id,
            "driver": driver,
            "model": driver,
            "serial": serial,
            "port": str(ptys[driver].link),
            "baud_rate": baud,
        }

    rows = [
        serial_row("spo2-ascii", "nonin.ascii", "N-1", "9600"),
        serial_row("spo2-f2", "nonin.format2", "N-2", "9600"),
        serial_row("rad8", "masimo.ascii1", "M-1", "9600"),
        serial_row("cms50d", "contec.cms50d", "C-1", "19200"),
        {**serial_row("hl7-serial", "hl7.pcd01.serial", "H-1"), "device_type": "monitor"},
        {
            "device_id": "scanner-sane",
            "driver": "sane",
            "model": "frontend-tester",
            "serial": "S-1",
            "settings": json.dumps(sane_device()),
        },
        {
            "device_id": "mfp",
            "driver": "escl",
            "model": "MFP 9000",
            "serial": "E-1",
            "settings": f"url={escl.url}; timeout_s=10",
        },
        {**serial_row("bc-serial", "barcode.serial", "B-1"), "device_type": "barcode"},
        # a bad row: the whole row is refused, named by line, column and what is allowed
        serial_row("spo2-bad", "nonin.format2", "N-9", "14400"),
    ]
    imported = api.post(
        "/v1/registry/import", content=_csv(rows), headers={"Content-Type": "text/csv"}
    ).json()
    assert imported["devices"] == 8, imported
    (bad,) = imported["errors"]
    assert (bad["line"], bad["code"], bad["field"]) == (10, "setting_not_allowed", "baud_rate")
    assert "9600" in bad["allowed"] and bad["en"] != bad["es"]
    # The API refuses the same way: the field, what is allowed, each language on its own.
    refused_api = api.put(
        f"/v1/stations/{STATION}/devices/mfp-9",
        json={
            "device_id": "mfp-9",
            "driver": "escl",
            "serial": "E-9",
            "options": {"url": "http://10.0.0.9/eSCL", "verify": "yes"},
        },
    )
    assert refused_api.status_code == 422
    problem = refused_api.json()
    assert (problem["code"], problem["field"]) == ("bad_setting", "settings.verify")
    assert problem["en"] == "'settings.verify' must be true or false, got 'yes'"
    assert problem["es"] == "'settings.verify' debe ser verdadero o falso, se recibió 'yes'"
    assert problem["detail"] == f"{problem['en']} / {problem['es']}"

    # -- by the ops console's form: readers, token, MLLP listener, keyboard wedge ----------
    web = _console(hub, "en")
    page = web.get(f"/console/stations/{STATION}").text
    for name in catalogue.names(simulators=False):
        assert f'<option value="{name}"' in page  # the form offers the catalogue
    form = [
        ("fp-1", "libfprint", "virtual reader", "FP-1", "driver=virtual_image"),
        ("fp-usb", "usb.fingerprint", "U.are.U 4500", "FP-2", "usb_id=05ba:000a"),
        ("token-1", "pkcs11", "SoftHSM", "T-1", f"module={hsm.module}; poll_s=0.3"),
        ("hl7-gw", "hl7.pcd01.mllp", "gateway", "G-1", f"port={mllp_port}"),
        ("bc-hid", "barcode.hid", "wedge", "W-1", "path=/dev/input/by-id/puente-none-event-kbd"),
    ]
    for device_id, driver, model, serial, settings in form:
        done = web.post(
            f"/console/stations/{STATION}/devices",
            data={
                "csrf": _csrf(page),
                "device_id": device_id,
                "driver": driver,
                "model": model,
                "serial": serial,
                "settings": settings,
            },
        )
        assert done.status_code == 200, done.text
        assert "Device registered; config v" in done.text
        page = done.text
    # A bad setting in the form: named by field with the allowed values, in the page language.
    es = _console(hub, "es")
    refused = es.post(
        f"/console/stations/{STATION}/devices",
        data={
            "csrf": _csrf(es.get(f"/console/stations/{STATION}").text),
            "device_id": "mfp-2",
            "driver": "escl",
            "serial": "E-2",
            "settings": "url=http://10.0.0.9/eSCL; timeout_s=6000",
        },
    )
    assert refused.status_code == 422
    assert 'data-field="settings.timeout_s"' in refused.text
    assert "está fuera de rango (admitido: 1..600)" in refused.text
    assert "is out of range" not in refused.text  # one language per message

    registered = {d["driver"] for d in api.get(f"/v1/stations/{STATION}/devices").json()}
    assert registered == set(catalogue.names(simulators=False))

    # -- push the config; the agent applies it under the same names -------------------------
    code = api.post(f"/v1/stations/{STATION}/enrollment-codes").json()["code"]
    enrolled = _enroll(hub, code, tmp_path)
    assert enrolled.returncode == 0, enrolled.stdout + enrolled.stderr
    pushed = api.put(f"/v1/stations/{STATION}/config", json={"overrides": {"device_poll_s": 0.5}})
    assert pushed.status_code == 200, pushed.text
    version = pushed.json()["version"]
    agent = _agent(tmp_path)
    try:
        assert agent.wait_connected(20)
        assert wait_for(lambda: agent.remote_config.version == version), agent.remote_config.error
        assert agent.remote_config.error == ""
        running = {d.device_id: d for d in agent.devices.list()}
        assert {d.driver for d in running.values()} == registered

        def states() -> dict[str, str]:
            return {d.device_id: d.state_name for d in agent.devices.list()}

        expected = {
            d: ("DISCONNECTED" if running[d].driver in NOTHING_BEHIND else "CONNECTED")
            for d in running
        }
        assert wait_for(lambda: states() == expected), (
            states(),
            [(d.device_id, d.error_code, d.detail) for d in agent.devices.list()],
        )

        # -- the fleet page lists what the station reports beside what ops registered ------
        connected = len(registered) - len(NOTHING_BEHIND)

        def fleet_row() -> str:
            page = web.get("/console/fleet").text
            row = re.search(rf'<tr data-station="{STATION}">.*?</tr>', page, re.S)
            return row.group(0) if row else ""

        assert wait_for(lambda: f'data-devices-connected="{connected}"' in fleet_row()), fleet_row()
        row = fleet_row()
        assert f'data-devices-seen="{len(registered)}"' in row
        assert f"{len(registered)} at the station ({connected} connected), " in row
        assert f"{len(registered)} registered" in row
        assert 'data-finding="not_connected"' in row and "disconnected since" in row
        assert "Devices</th>" in web.get("/console/fleet").text

        station = web.get(f"/console/stations/{STATION}").text
        for device_id, expected_state in expected.items():
            finding = "ok" if expected_state == "CONNECTED" else "not_connected"
            assert f'data-reported-device="{device_id}" data-finding="{finding}"' in station
        assert "fp-usb: disconnected since" in station
        assert "registered but not seen" not in station and "wrong driver" not in station

        # A signed config the hub would never build (settings outside the schema): the agent
        # checks with the same catalogue, refuses it naming the device and the field, and
        # keeps running the config in force.
        assert hub.fleet.publish is not None
        unusable = sealed.seal(
            hub.fleet.config_key,
            sealed.SignedConfig(
                STATION,
                UNIT,
                version + 50,
                "2030-01-01T00:00:00Z",
                {"devices": [{"device_id": "m9", "driver": "contec.cms50d", "options": {}}]},
            ),
        )
        hub.fleet.publish(config_topic(UNIT, STATION), unusable, True)
        assert wait_for(lambda: "invalid_config" in agent.remote_config.error)
        assert "'devices[0] (m9).options.port' is required by driver contec.cms50d" in (
            agent.remote_config.error
        )
        assert agent.remote_config.version == version
        assert len(agent.devices.list()) == len(registered)
        assert wait_for(
            lambda: (
                "(m9).options.port"
                in api.get(f"/v1/stations/{STATION}/config").json()["applied_error"]
            )
        )

        # Ops remove a device the station still runs until the next config: seen, not
        # registered; the registry's next config removes it at the station too.
        removed = api.delete(f"/v1/stations/{STATION}/devices/bc-hid")
        assert removed.status_code == 200
        assert wait_for(lambda: "bc-hid" not in {d.device_id for d in agent.devices.list()})
        assert wait_for(lambda: f'data-devices-seen="{len(registered) - 1}"' in fleet_row())

        # A CSV import for an enrolled station publishes its config at once.
        more = _csv(
            [
                {
                    "device_id": "mfp-2",
                    "driver": "escl",
                    "serial": "E-2",
                    "settings": f"url={escl.url}",
                }
            ]
        )
        again = api.post(
            "/v1/registry/import", content=more, headers={"Content-Type": "text/csv"}
        ).json()
        assert (again["devices"], again["configs_published"]) == (1, [STATION]), again
        assert wait_for(lambda: "mfp-2" in {d.device_id for d in agent.devices.list()})
        assert wait_for(
            lambda: (
                'data-reported-device="mfp-2" data-finding="ok"'
                in (web.get(f"/console/stations/{STATION}").text)
            )
        )
    finally:
        agent.stop()
        escl.stop()
        for pty in ptys.values():
            pty.stop()
