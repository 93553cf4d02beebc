"""Fixtures of provisioning tests: a station CA and a Mosquitto run from the generated config."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioning.pki import StationCA
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
