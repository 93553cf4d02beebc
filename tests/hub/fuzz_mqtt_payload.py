"""Atheris fuzz target: raw MQTT bytes → the hub's message handler → one ingest commit.

Run by tests/hub/test_mqtt_payload_fuzz.py for a bounded number of runs; by hand:
    python tests/hub/fuzz_mqtt_payload.py -runs=100000 CORPUS_DIR
A crash is any exception out of the handler or the commit (the writer would stall on it)
or a receipt that is not ACCEPTED/DUPLICATE/REJECTED.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["hub", "protos"]):
    from hub.ingest.pipeline import process_batch
    from hub.ingest.worker import IngestWorker
    from hub.metrics import HubMetrics
    from hub.settings import HubSettings
    from hub.storage.sqlite import SQLiteStore
    from protos import events_pb2, topics

import paho.mqtt.client as mqtt

UNIT, STATION = "u-01", "st-01"
TOPICS = [
    topics.events(UNIT, STATION),
    f"{topics.PREFIX}/{UNIT}/{STATION}/state",
    topics.events(UNIT, "st-unknown"),
    f"{topics.PREFIX}/{UNIT}/{STATION}/nonsense",
    "puente/v2/x",
]
ANSWERS = {events_pb2.ACCEPTED, events_pb2.DUPLICATE, events_pb2.REJECTED}

_dir = Path(tempfile.mkdtemp(prefix="puente-fuzz-"))
settings = HubSettings(data_dir=_dir, mqtt_client_id="fuzz")
store = SQLiteStore(settings.database_path)
store.migrate()
store.register_station(STATION, UNIT, "2025-01-01T00:00:00.000000Z")
worker = IngestWorker(settings, store, HubMetrics())  # not started: no broker needed
worker._accepting.set()


def one_input(data: bytes) -> None:
    topic = TOPICS[data[0] % len(TOPICS)] if data else TOPICS[0]  # first byte: the topic
    message = mqtt.MQTTMessage(mid=1, topic=topic.encode())
    message.payload = data[1:]
    message.qos = 1
    worker._on_message(worker._client, None, message)  # paho's callback, as delivered
    queued = [worker._queue.get_nowait()]
    # What the writer thread commits (default limits = the settings' defaults); must not raise.
    outcome = process_batch(queued, store, settings.max_clock_skew_s, time.time())
    for batch in outcome.receipts.values():
        for receipt in events_pb2.ReceiptBatch.FromString(batch.SerializeToString()).receipts:
            assert receipt.status in ANSWERS, receipt
    store.render_pending_payloads(50)
    # Forget the events, so that a mutant keeping its seed's event_id is stored (and so
    # checked and rendered) again instead of being a duplicate.
    with sqlite3.connect(store.path) as conn:
        conn.execute("DELETE FROM events")


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
