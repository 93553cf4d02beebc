"""The demo's embedded amqtt broker keeps each station inside its own prefix, like Mosquitto."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hub.fleet import FleetService
from hub.ingest.timefmt import now_iso
from hub.settings import HubSettings
from hub.storage import open_store
from provisioning.registry import Unit
from puente_cli.embedded_broker import EmbeddedBroker

EVENTS_A = "puente/v1/U1/st-a/events"
EVENTS_B = "puente/v1/U1/st-b/events"
RECEIPTS_A = "puente/v1/U1/st-a/receipts"
RECEIPTS_B = "puente/v1/U1/st-b/receipts"


class Peer:
    """A paho client signing in with a username and password; records what it receives."""

    def __init__(self, broker: EmbeddedBroker, username: str, password: str | None = None) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.connected = threading.Event()
        self.refused = threading.Event()
        self.c = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"t-{username}",
            protocol=mqtt.MQTTv311,
        )
        pw = broker.access.password_for(username) if password is None else password
        self.c.username_pw_set(username, pw)
        self.c.on_connect = lambda _c, _u, _f, rc, _p: (
            self.refused.set() if rc.is_failure else self.connected.set()
        )
        self.c.on_message = lambda _c, _u, m: self.messages.append((m.topic, m.payload))
        self.c.connect("127.0.0.1", broker.port, 30)
        self.c.loop_start()

    def wait(self, timeout: float = 10) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.connected.is_set():
                return True
            if self.refused.is_set():
                return False
            time.sleep(0.02)
        return False

    def subscribe(self, topic: str) -> list[int]:
        done, codes = threading.Event(), []
        self.c.on_subscribe = lambda _c, _u, _m, rcs, _p: (
            codes.extend(r.value for r in rcs),
            done.set(),
        )
        self.c.subscribe(topic, qos=1)
        assert done.wait(10)
        return codes

    def publish(self, topic: str, payload: bytes) -> None:
        self.c.publish(topic, payload, qos=1).wait_for_publish(10)

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


@pytest.fixture
def broker() -> Iterator[EmbeddedBroker]:
    b = EmbeddedBroker()
    b.start()
    b.access.allow_station("st-a", "U1")
    b.access.allow_station("st-b", "U1")
    try:
        yield b
    finally:
        b.stop()


def _settle(pred, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return bool(pred())


def test_station_a_cannot_publish_as_b_nor_read_bs_receipts(broker: EmbeddedBroker) -> None:
    hub = Peer(broker, "hub:test")
    assert hub.wait()
    hub.subscribe("puente/v1/+/+/events")
    a = Peer(broker, "st-a")
    assert a.wait()
    a.subscribe(RECEIPTS_A)
    a.subscribe(RECEIPTS_B)  # refused (SUBACK 0x80); nothing of B's may arrive anyway
    a.subscribe("puente/v1/U1/+/receipts")
    hub.publish(RECEIPTS_B, b"for-b")
    hub.publish(RECEIPTS_A, b"for-a")
    assert _settle(lambda: len(a.messages) >= 1)
    time.sleep(0.3)
    assert a.messages == [(RECEIPTS_A, b"for-a")]

    a.publish(EVENTS_B, b"forged")  # as B
    a.publish("puente/v1/U2/st-a/events", b"other-unit")  # own id, another unit
    a.publish(EVENTS_A, b"own")
    assert _settle(lambda: len(hub.messages) >= 1)
    time.sleep(0.3)
    assert hub.messages == [(EVENTS_A, b"own")]
    a.close()
    hub.close()


def test_wrong_password_unknown_station_and_anonymous_are_refused(
    broker: EmbeddedBroker,
) -> None:
    wrong = Peer(broker, "st-a", password=broker.access.password_for("st-b"))
    assert wrong.wait() is False
    stranger = Peer(broker, "st-x")  # right derivation, but not a registered station
    assert stranger.wait() is False
    anonymous = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="anon")
    refused = threading.Event()
    anonymous.on_connect = lambda _c, _u, _f, rc, _p: refused.set() if rc.is_failure else None
    anonymous.connect("127.0.0.1", broker.port, 30)
    anonymous.loop_start()
    assert refused.wait(10)
    for client in (wrong, stranger):
        client.close()
    anonymous.loop_stop()


def test_a_station_cannot_take_the_hubs_shared_subscription(broker: EmbeddedBroker) -> None:
    """As with the generated Mosquitto roles: `$share` and wildcards are refused at SUBSCRIBE."""
    a = Peer(broker, "st-a")
    assert a.wait()
    assert a.subscribe("$share/hub/puente/v1/+/+/events") == [0x80]
    assert a.subscribe("puente/v1/+/+/events") == [0x80]
    assert a.subscribe(RECEIPTS_A) == [1]
    a.close()


def test_cutting_a_station_ends_its_open_session_and_keeps_it_out(broker: EmbeddedBroker) -> None:
    a = Peer(broker, "st-a")
    assert a.wait()
    disconnected = threading.Event()
    a.c.on_disconnect = lambda *_: disconnected.set()
    b = Peer(broker, "st-b")
    assert b.wait()
    assert broker.cut("st-a") == 1
    assert disconnected.wait(5)
    a.close()
    again = Peer(broker, "st-a")
    assert again.wait() is False  # no longer allowed
    again.close()
    assert b.c.is_connected()  # others untouched
    b.close()


def test_retiring_at_the_hub_ends_the_session_on_the_demo_broker(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    store = open_store(HubSettings(data_dir=tmp_path / "hub"))
    store.migrate()
    fleet = FleetService(HubSettings(data_dir=tmp_path / "hub"), store)
    fleet.on_cut.append(broker.cut)
    fleet.registry.add_unit(Unit("U1", "Zona 1"), now_iso())
    fleet.store.register_station("st-a", "U1", now_iso())
    a = Peer(broker, "st-a")
    assert a.wait()
    disconnected = threading.Event()
    a.c.on_disconnect = lambda *_: disconnected.set()
    fleet.retire("st-a")
    assert fleet.broker_status is not None and fleet.broker_status.ok
    assert disconnected.wait(5)
    a.close()
    assert Peer(broker, "st-a").wait() is False
    store.close()
