"""How the ingest writer cuts what is queued into commits (real store, no broker needed)."""

from __future__ import annotations

import threading
from pathlib import Path

from hub.ingest.pipeline import Incoming
from hub.ingest.worker import IngestWorker
from hub.metrics import HubMetrics
from hub.settings import HubSettings
from hub.storage.sqlite import SQLiteStore


def _writer_batches(tmp_path: Path, payloads: list[int], **settings: int) -> list[list[int]]:
    """Queue messages of the given payload sizes, run the writer until the queue is empty,
    and return the payload sizes of each batch it committed."""
    hub = HubSettings(data_dir=tmp_path / "hub", mqtt_client_id="batching", **settings)
    store = SQLiteStore(hub.database_path)
    store.migrate()
    worker = IngestWorker(hub, store, HubMetrics())  # not started: no broker needed
    batches: list[list[int]] = []
    worker._handle = lambda batch: batches.append([len(m.payload) for m in batch])  # type: ignore[method-assign]
    for size in payloads:
        worker._queue.put(Incoming("puente/v1/u/s/state", b"x" * size, 0.0))
    worker._stopping.set()  # the writer returns once the queue is empty
    writer = threading.Thread(target=worker._run)
    writer.start()
    writer.join(10)
    assert not writer.is_alive()
    return batches


def test_a_commit_takes_messages_up_to_the_byte_bound(tmp_path: Path) -> None:
    # A station sending a backlog gets receipts for its first messages while the hub
    # commits the next ones, instead of one receipt for its whole window.
    batches = _writer_batches(tmp_path, [1000] * 10, ingest_batch_max_bytes=2500)
    assert batches == [[1000] * 3, [1000] * 3, [1000] * 3, [1000]]


def test_a_message_bigger_than_the_bound_is_committed_alone(tmp_path: Path) -> None:
    batches = _writer_batches(tmp_path, [5000, 10, 10], ingest_batch_max_bytes=2500)
    assert batches == [[5000], [10, 10]]


def test_the_message_count_bound_still_holds(tmp_path: Path) -> None:
    batches = _writer_batches(tmp_path, [10] * 5, ingest_batch_max=2)
    assert batches == [[10, 10], [10, 10], [10]]
