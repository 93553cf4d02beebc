"""A fake station for hub tests: a real paho client publishing EventBatches, reading receipts."""

from __future__ import annotations

import queue
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from protos import events_pb2, topics
from tests.hub.events import STATION, UNIT


class FakeStation:
    def __init__(self, port: int, station_id: str = STATION, unit_id: str = UNIT) -> None:
        self.station_id, self.unit_id = station_id, unit_id
        self.receipts: queue.Queue[events_pb2.Receipt] = queue.Queue()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2, client_id=f"test-{station_id}"
        )
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.client.subscribe(topics.receipts(unit_id, station_id), qos=1)
        assert self._subscribed.wait(5), "station could not subscribe to its receipts"

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        for receipt in events_pb2.ReceiptBatch.FromString(msg.payload).receipts:
            self.receipts.put(receipt)

    def publish(self, payload: bytes, leaf: str = "events", retain: bool = False) -> None:
        topic = f"{topics.PREFIX}/{self.unit_id}/{self.station_id}/{leaf}"
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def take(self, n: int, timeout: float = 5.0) -> dict[str, tuple[int, str]]:
        """The next n receipts as event_id → (status, reason_code)."""
        got: dict[str, tuple[int, str]] = {}
        deadline = time.monotonic() + timeout
        while len(got) < n:
            r = self.receipts.get(timeout=max(0.01, deadline - time.monotonic()))
            got[r.event_id] = (r.status, r.reason_code)
        return got

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
