"""Fixtures that start real services (Mosquitto) and clean up after themselves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.brokers import Mosquitto, mosquitto_available


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A Mosquitto of this test's own, on a free loopback port, persistence off."""
    if not mosquitto_available():
        pytest.fail("mosquitto is not installed: run scripts/test, which installs it")
    broker = Mosquitto(tmp_path / "mosquitto").start()
    try:
        yield broker
    finally:
        broker.stop()
