"""The live view across processes on PostgreSQL: a set stored by one hub process (its ingest
announces it with NOTIFY after commit) reaches a viewer subscribed on another (LISTEN)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from hub.storage.base import EventRow
from hub.vitals.service import VitalsHub
from tests.hub.events import STATION, UNIT, vitals_event


@pytest.fixture
def backend() -> str:
    return "postgres"  # SQLite is one process: ingest's after-commit hook feeds the view


def _row(event: Any) -> EventRow:
    at = event.occurred_at.ToJsonString()
    return EventRow(
        event.event_id, STATION, UNIT, event.device_id, event.case_id, event.patient_id,
        "vital_signs", at, event.station_seq, at, 0, event.SerializeToString(),
    )  # fmt: skip


def test_a_viewer_on_one_process_sees_readings_stored_by_another(
    make_store: Callable[[], Any],
) -> None:
    ingesting, serving = make_store(), make_store()
    ingesting.register_station(STATION, UNIT, "2026-01-01T00:00:00Z")
    writer = VitalsHub.for_store(ingesting)  # the ingest worker's process
    viewer = VitalsHub.for_store(serving)  # an API process with no ingest
    try:

        async def watch() -> list[dict[str, Any]]:
            sub = viewer.feed.subscribe("live-case")
            other = viewer.feed.subscribe("other-case")
            watched = vitals_event(station_seq=1, case_id="live-case", spo2=93.0)
            unwatched = vitals_event(station_seq=2, case_id="nobody-watches", spo2=90.0)
            rows = [_row(watched), _row(unwatched)]
            assert ingesting.commit_ingest(rows, [], []) == [True, True]
            writer.on_commit(rows)  # as IngestWorker does after its commit
            item = await asyncio.wait_for(sub.queue.get(), timeout=20)
            assert other.queue.empty()
            return [item]

        items = asyncio.run(watch())
        assert [(i["parameter"], i["value"], i["status"]) for i in items] == [
            ("spo2", 93.0, "accepted")
        ]
    finally:
        writer.close()
        viewer.close()


def test_a_commits_notices_arrive_whole_and_in_order_over_several_notify_payloads(
    make_store: Callable[[], Any],
) -> None:
    import queue

    store = make_store()
    fanout = store.live_fanout()
    got: queue.Queue[list[tuple[str, str]]] = queue.Queue()
    stop = fanout.listen(got.put)
    try:
        stored = [(f"case-{i % 7}", f"event-{i:05d}") for i in range(600)]  # > one 7 kB notice
        fanout.announce(stored)
        heard: list[tuple[str, str]] = []
        notices = 0
        while len(heard) < len(stored):
            heard.extend(got.get(timeout=10))
            notices += 1
    finally:
        stop()
    assert notices > 1 and heard == stored
