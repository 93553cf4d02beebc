"""A broker reload that fails is an error in the log and on the ops console, never silence."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hub.service import HubService
from hub.settings import HubSettings
from tests.brokers import Mosquitto
from tests.browser.test_console import PASSWORD, add_user
from tests.e2e.processes import write_toml

OPS = {"Authorization": "Bearer ops-secret-reload"}


@pytest.fixture
def hub(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[HubService]:
    values = {
        "data_dir": str(tmp_path / "hub"),
        "broker_url": mosquitto.url,
        "http_port": 0,
        "bootstrap_token": "ops-secret-reload",
        "mqtt_client_id": "hub-reload-test",
        # Names a pid file nobody writes (as the generated config did before it had pid_file).
        "broker_reload_pid_file": str(tmp_path / "run" / "mosquitto.pid"),
    }
    service = HubService(HubSettings(**values))  # type: ignore[arg-type]
    service.config_file = write_toml(tmp_path / "hub.toml", values)  # type: ignore[attr-defined]
    service.start()
    service.wait_ready(20)
    try:
        yield service
    finally:
        service.stop()


def _console(hub: HubService) -> httpx.Client:
    assert add_user(hub.config_file, "ana", "ops").returncode == 0  # type: ignore[attr-defined]
    web = httpx.Client(base_url=hub.http_url, headers={"Accept-Language": "en"}, timeout=20)
    page = web.get("/console/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    signed = web.post(
        "/console/login",
        data={"csrf": csrf.group(1), "name": "ana", "password": PASSWORD, "next": "/console/fleet"},
    )
    assert signed.status_code in (200, 303), signed.text
    return web


def test_failed_reload_is_logged_and_shown_on_the_fleet_page(
    hub: HubService, mosquitto: Mosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    api = httpx.Client(base_url=hub.http_url, headers=OPS, timeout=20)
    assert api.post("/v1/units", json={"unit_id": "U1", "name": "Zona 1"}).status_code == 201
    assert api.post("/v1/stations", json={"station_id": "st-1", "unit_id": "U1"}).status_code == 201
    web = _console(hub)
    assert 'id="broker-problem"' not in web.get("/console/fleet").text  # nothing tried yet
    assert api.get("/v1/broker/status").json() == {"ok": None, "at": None, "problems": []}

    with caplog.at_level(logging.ERROR, logger="hub.fleet"):
        assert api.post("/v1/stations/st-1/retire").status_code == 200
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and "broker not reloaded" in errors[0].getMessage()
    assert "mosquitto.pid" in errors[0].getMessage()
    status = hub.fleet.broker_status
    assert status is not None and not status.ok

    reported = api.get("/v1/broker/status").json()
    assert reported["ok"] is False and "broker not reloaded" in reported["problems"][0]
    page = web.get("/console/fleet").text
    assert 'id="broker-problem"' in page and 'role="alert"' in page
    assert "The broker was not brought up to date" in page
    assert "revoked certificates can still connect" in page

    # The broker's pid file appears (ops fixed the config): "Retry now" clears the alert.
    pid_file = tmp_path / "run" / "mosquitto.pid"
    pid_file.parent.mkdir()
    assert mosquitto.proc is not None
    pid_file.write_text(str(mosquitto.proc.pid))
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    web.post("/console/fleet/broker-refresh", data={"csrf": csrf.group(1)})
    assert hub.fleet.broker_status is not None and hub.fleet.broker_status.ok
    assert 'id="broker-problem"' not in web.get("/console/fleet").text
    assert api.get("/v1/broker/status").json()["ok"] is True


def test_a_stale_pid_file_naming_another_process_gets_no_signal(
    hub: HubService, tmp_path: Path
) -> None:
    """SIGHUP ends most programs: a pid reused after the broker died must not receive it."""
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        pid_file = tmp_path / "run" / "mosquitto.pid"
        pid_file.parent.mkdir()
        pid_file.write_text(str(bystander.pid))
        problems = hub.fleet.reload_broker()
        assert problems and "not mosquitto" in problems[0]
        time.sleep(0.3)
        assert bystander.poll() is None  # still running: no SIGHUP
    finally:
        bystander.kill()
        bystander.wait(10)
