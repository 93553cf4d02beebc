"""A tiny fake hub for agent tests: subscribes to every station's events and answers receipts."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from protos import events_pb2, topics
from protos.broker_url import parse_broker_url


class FakeHub:
    """Records every delivery; answers ACCEPTED (DUPLICATE when seen, REJECTED when told)."""

    def __init__(self, broker_url: str) -> None:
        self.address = parse_broker_url(broker_url)
        self.answer = True
        self.reject: dict[str, str] = {}  # event_id -> reason code
        self.ignore_first: bool = False  # drop the first delivery of each event unanswered
        self.deliveries: list[events_pb2.Event] = []  # every event received, in order
        self.first_seen: list[events_pb2.Event] = []  # first delivery of each event_id
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2, client_id="fake-hub"
        )
        self.client.reconnect_delay_set(0.05, 0.3)
        self.client.on_connect = lambda c, *_: c.subscribe(topics.all_events(False), qos=1)
        self.client.on_message = self._on_message
        self.connected = threading.Event()
        self.client.on_subscribe = lambda *_: self.connected.set()

    def start(self) -> FakeHub:
        self.client.connect(self.address.host, self.address.port, 10)
        self.client.loop_start()
        assert self.connected.wait(5), "fake hub did not subscribe"
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        where = topics.parse(msg.topic)
        batch = events_pb2.EventBatch.FromString(msg.payload)
        receipts = []
        with self._lock:
            for raw in batch.events:
                event = events_pb2.Event.FromString(raw)
                self.deliveries.append(event)
                first = event.event_id not in self._seen
                if first:
                    self._seen.add(event.event_id)
                    self.first_seen.append(event)
                    if self.ignore_first:
                        continue
                if not self.answer:
                    continue
                if event.event_id in self.reject:
                    receipts.append(
                        events_pb2.Receipt(
                            event_id=event.event_id,
                            status=events_pb2.REJECTED,
                            reason_code=self.reject[event.event_id],
                        )
                    )
                else:
                    status = events_pb2.ACCEPTED if first else events_pb2.DUPLICATE
                    receipts.append(events_pb2.Receipt(event_id=event.event_id, status=status))
        if receipts:
            client.publish(
                topics.receipts(where.unit_id, where.station_id),
                events_pb2.ReceiptBatch(receipts=receipts).SerializeToString(),
                qos=1,
            )

    def count(self, event_id: str) -> int:
        with self._lock:
            return sum(1 for e in self.deliveries if e.event_id == event_id)


def wait_until(predicate: Callable[[], bool], timeout_s: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what or predicate}")
