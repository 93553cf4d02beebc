"""The hub's write health: a rate-limited heartbeat write on the real SQLite file, and ingest."""

from __future__ import annotations

import sqlite3

from hub.health import WriteHealth
from hub.storage.sqlite import SQLiteStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_held_write_lock_is_named_and_the_probe_runs_at_most_once_per_interval(
    store: SQLiteStore,
) -> None:
    clock = Clock()
    health = WriteHealth(store, "hub-a", probe_every_s=5.0, timeout_s=0.2, clock=clock)
    assert health.problems() == []
    written = store._conn().execute("SELECT holder FROM hub_heartbeat").fetchall()
    assert written == [("hub-a",)]

    locker = sqlite3.connect(store.path, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    try:
        assert health.problems() == []  # within the interval: the last answer, no new write
        clock.now += 5.0
        (problem,) = health.problems()
        assert "locked" in problem and "bloqueada" in problem
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert health.problems() != []  # still the last answer until the next interval
    clock.now += 5.0
    assert health.problems() == []


def test_a_failed_ingest_commit_counts_until_a_commit_or_a_later_probe_succeeds(
    store: SQLiteStore,
) -> None:
    clock = Clock()
    changes: list[bool] = []
    health = WriteHealth(store, "hub-a", probe_every_s=5.0, timeout_s=0.2, clock=clock)
    health.on_change = changes.append
    locker = sqlite3.connect(store.path, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    try:
        health.commit_failed(12)  # the probe runs at once after a failed commit
        problems = health.problems()
        assert len(problems) == 2
        assert "12 message(s)" in problems[1] and "locked" in problems[0]
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    health.commit_ok()
    clock.now += 5.0
    assert health.problems() == []
    assert changes[0] is False and changes[-1] is True
