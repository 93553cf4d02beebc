"""At start the hub brings the broker's roles in step with its registry, or says why it cannot."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from hub.service import HubService
from hub.settings import HubSettings
from provisioning.pki import StationCA, write_private
from tests.provisioning.pki import Client, TlsMosquitto, station_files


def _wait(pred, timeout: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return bool(pred())


def test_a_station_the_registry_does_not_allow_is_removed_from_the_broker_at_start(
    hub: HubService, tls_mosquitto: TlsMosquitto, ca: StationCA, tmp_path: Path
) -> None:
    # The broker's first state named st-a; the hub's registry has no such enrolled station.
    assert _wait(lambda: hub.fleet.broker_status is not None)
    assert hub.fleet.broker_status is not None and hub.fleet.broker_status.ok
    st_a = Client(
        tls_mosquitto.port, tls_mosquitto.files.ca, station_files(ca, tmp_path, "st-a"), "a"
    )
    assert st_a.connect()
    assert st_a.subscribe("puente/v1/U1/st-a/receipts") == [0x80]
    st_a.close()


def test_a_broker_without_the_plugin_is_reported_at_start(
    tmp_path: Path, ca: StationCA, tls_mosquitto: TlsMosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    """The broker still runs a config without dynamic security (e.g. an old `acl_file` one):
    the hub logs an error and keeps it for the console instead of assuming it is enforced."""
    tls_mosquitto.stop()
    conf = tls_mosquitto.conf.read_text().splitlines()
    tls_mosquitto.conf.write_text(
        "\n".join(line for line in conf if not line.startswith("plugin")) + "\n"
    )
    tls_mosquitto.start()
    key, issued = ca.issue_service("puente-hub")
    write_private(tmp_path / "hub-key.pem", key)
    (tmp_path / "hub-cert.pem").write_bytes(issued.pem)
    service = HubService(
        HubSettings(
            data_dir=tmp_path / "hub",
            broker_url=tls_mosquitto.url,
            tls_ca_file=tls_mosquitto.files.ca,
            tls_cert_file=tmp_path / "hub-cert.pem",
            tls_key_file=tmp_path / "hub-key.pem",
            pki_dir=tmp_path / "pki",
            broker_dir=tls_mosquitto.files.directory,
            http_port=0,
            mqtt_client_id="hub-no-plugin",
        )
    )
    with caplog.at_level(logging.ERROR, logger="hub.fleet"):
        service.start()
        try:
            service.wait_ready(20)
            assert _wait(lambda: service.fleet.broker_status is not None, timeout=25)
        finally:
            service.stop()
    status = service.fleet.broker_status
    assert status is not None and not status.ok
    assert "dynamic-security plugin did not answer" in " ".join(status.problems)
    assert any("broker not in step" in r.getMessage() for r in caplog.records)
