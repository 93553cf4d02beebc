"""A full disk on the station never wedges the outbox: deletes free space, appends come back."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from edge_agent.errors import OutboxError, OutboxFull
from edge_agent.metrics import AgentMetrics
from edge_agent.outbox import Outbox
from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from tests.agent.fakehub import FakeHub, wait_until
from tests.agent.test_outbox import status_event, vitals_event
from tests.agent.test_uplink import record_vitals
from tests.brokers import Mosquitto

MiB = 1024 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 4 MiB tmpfs: the file system itself says "No space left on device"."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(path: Path) -> None:
    """Take every free byte of the disk with a filler file."""
    with open(path, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass


def _open(path: Path) -> Outbox:
    return Outbox(
        path,
        limit_bytes=64 * MiB,
        hard_limit_bytes=64 * MiB,
        metrics=AgentMetrics(),
        min_free_disk_bytes=256 * 1024,
        reserve_bytes=512 * 1024,
    ).open()


def _append_until_refused(box: Outbox) -> list[str]:
    ids = []
    for _ in range(100_000):
        try:
            ids.append(box.append(vitals_event())[0])
        except OutboxError:
            return ids
    raise AssertionError("the disk never filled")


def test_receipted_events_are_deleted_on_a_full_disk_and_appends_come_back(
    small_disk: Path,
) -> None:
    box = _open(small_disk / "outbox.sqlite3")
    assert box.reserve_path.exists(), "the reserve is made at open"
    first = [box.append(vitals_event())[0] for _ in range(50)]
    _fill(small_disk / "filler")
    accepted = _append_until_refused(box)
    with pytest.raises(OutboxError) as refused:
        box.append(vitals_event())
    assert refused.value.code in ("outbox_disk_full", "outbox_write_failed")

    # The hub receipts everything: the deletes go through although the disk is full.
    assert box.delete(first + accepted) == len(first) + len(accepted)
    assert box.depth()[0] == 0
    # The pages freed are reused: clinical events are accepted again on the same full disk.
    again = [box.append(vitals_event())[0] for _ in range(20)]
    assert len(again) == 20
    box.close()

    # A restart on the full disk neither fails nor loses anything.
    box = _open(small_disk / "outbox.sqlite3")
    assert [eid for _, eid, _ in box.pending(0, 100)] == again
    # Space comes back: the reserve is made again with the next commit.
    (small_disk / "filler").unlink()
    box.append(vitals_event())
    assert box.reserve_path.exists()
    box.close()


def test_non_critical_events_are_refused_before_the_disk_is_full(small_disk: Path) -> None:
    box = _open(small_disk / "outbox.sqlite3")
    with open(small_disk / "filler", "wb") as f:
        free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
        f.write(b"\0" * (free - 200 * 1024))  # less than min_free_disk_bytes left
    with pytest.raises(OutboxFull, match="disco"):
        box.append(status_event())
    assert box.append(vitals_event())[1] == 1  # clinical events still go in
    pressure = box.pressure()
    assert "almost full" in pressure.warning and "casi lleno" in pressure.warning
    box.close()


def test_receipts_that_could_not_be_deleted_are_retried_until_space_returns(
    small_disk: Path,
    make_settings: Callable[..., AgentSettings],
    start_agent: Callable[[AgentSettings], AgentService],
    mosquitto: Mosquitto,
    fake_hub: FakeHub,
) -> None:
    """No reserve: the delete itself fails on the full disk. The uplink keeps the receipted ids
    and deletes them once space returns, without a restart (before: forgotten until restart)."""
    fake_hub.answer = False
    agent = start_agent(
        make_settings(
            broker_url=mosquitto.url,
            data_dir=small_disk / "agent",
            receipt_timeout_s=0.5,
            outbox_reserve_bytes=0,
            outbox_min_free_disk_bytes=0,
        )
    )
    assert agent.wait_connected(5)
    ids = [record_vitals(agent, 90 + i)[0] for i in range(30)]
    wait_until(lambda: len(fake_hub.first_seen) == 30, what="30 deliveries")
    _fill(small_disk / "filler")
    # Make sure the WAL cannot take a delete either.
    while True:
        try:
            agent.outbox.append(vitals_event())
        except OutboxError:
            break
    fake_hub.answer = True  # the re-sends get receipts now; the deletes fail
    wait_until(lambda: len(fake_hub.deliveries) >= 60, timeout_s=10, what="answered re-sends")
    time.sleep(1.0)  # the receipts arrive; their deletes fail on the full disk
    assert agent.outbox.depth()[0] >= 30
    (small_disk / "filler").unlink()
    wait_until(lambda: agent.outbox.depth()[0] == 0, timeout_s=10, what="deleted after space came")
    assert {e.event_id for e in fake_hub.first_seen} >= set(ids)
