"""Fixtures of provisioning tests: a station CA and a Mosquitto run from the generated config."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.service import HubService
from hub.settings import HubSettings
from provisioning.pki import StationCA, write_private
from tests.brokers import mosquitto_available
from tests.provisioning.pki import TlsMosquitto


@pytest.fixture
def ca(tmp_path: Path) -> StationCA:
    return StationCA.create(tmp_path / "pki")


@pytest.fixture
def tls_mosquitto(tmp_path: Path, ca: StationCA) -> Iterator[TlsMosquitto]:
    if not mosquitto_available():
        pytest.fail("mosquitto is not installed: run scripts/test, which installs it")
    broker = TlsMosquitto(tmp_path / "mosquitto", ca)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def hub(tmp_path: Path, ca: StationCA, tls_mosquitto: TlsMosquitto) -> Iterator[HubService]:
    key, issued = ca.issue_service("puente-hub")
    write_private(tmp_path / "hub-key.pem", key)
    (tmp_path / "hub-cert.pem").write_bytes(issued.pem)
    assert tls_mosquitto.proc is not None
    settings = HubSettings(
        data_dir=tmp_path / "hub",
        broker_url=tls_mosquitto.url,
        tls_ca_file=tls_mosquitto.files.ca,
        tls_cert_file=tmp_path / "hub-cert.pem",
        tls_key_file=tmp_path / "hub-key.pem",
        pki_dir=tmp_path / "pki",
        broker_dir=tls_mosquitto.files.directory,
        broker_reload_command=f"kill -HUP {tls_mosquitto.proc.pid}",
        http_port=0,
        bootstrap_token="ops-secret-e2e",
    )
    service = HubService(settings)
    service.start()
    service.wait_ready(20)
    try:
        yield service
    finally:
        service.stop()
