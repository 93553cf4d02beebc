"""The outbox: durable before the answer, group commit, bounded, restart-safe."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from edge_agent.errors import OutboxFull
from edge_agent.events import build_event
from edge_agent.metrics import AgentMetrics
from edge_agent.outbox import Outbox
from protos import events_pb2


def vitals_event(value: float = 97.0) -> events_pb2.Event:
    obs = events_pb2.VitalSignsObservation(
        mode="spot", readings=[events_pb2.Reading(mdc_code=150456, value=value, unit="%")]
    )
    return build_event(
        station_id="st-1",
        unit_id="unit-1",
        payload_name="vital_signs",
        payload=obs,
        device_id="monitor-1",
        case_id="C-1",
        patient_id="P-1",
    )


def status_event() -> events_pb2.Event:
    return build_event(
        station_id="st-1",
        unit_id="unit-1",
        payload_name="device_status",
        payload=events_pb2.DeviceStatus(family="vitals", state=events_pb2.CONNECTED),
        device_id="monitor-1",
    )


def open_outbox(path: Path, **kw: int) -> Outbox:
    kw.setdefault("limit_bytes", 1 << 20)
    kw.setdefault("hard_limit_bytes", 1 << 21)
    return Outbox(path, metrics=AgentMetrics(), **kw).open()  # type: ignore[arg-type]


def test_committed_events_survive_reopen_and_keep_their_order(tmp_path: Path) -> None:
    box = open_outbox(tmp_path / "o.db")
    answers = [box.append(vitals_event(90 + i)) for i in range(5)]
    box.close()

    box = open_outbox(tmp_path / "o.db")
    rows = box.pending(0, 100)
    assert [(seq, eid) for seq, eid, _ in rows] == [(s, e) for e, s in answers]
    assert [s for _, s in answers] == [1, 2, 3, 4, 5]
    first = events_pb2.Event.FromString(rows[0][2])
    assert first.station_seq == 1
    assert first.vital_signs.readings[0].value == 90.0
    assert box.append(vitals_event())[1] == 6
    box.close()


def test_station_seq_never_goes_back_when_the_outbox_empties(tmp_path: Path) -> None:
    box = open_outbox(tmp_path / "o.db")
    ids = [box.append(vitals_event())[0] for _ in range(3)]
    assert box.delete(ids) == 3
    assert box.delete(ids) == 0  # idempotent
    assert box.depth() == (0, 0, None)
    box.close()
    box = open_outbox(tmp_path / "o.db")
    assert box.append(vitals_event())[1] == 4
    box.close()


_KILLED_WRITER = """
import sys
from edge_agent.outbox import Outbox
from tests.agent.test_outbox import vitals_event
box = Outbox(sys.argv[1], limit_bytes=1 << 30, hard_limit_bytes=1 << 31).open()
while True:
    event_id, seq = box.append(vitals_event())
    print(event_id, seq, flush=True)
"""


def test_agent_killed_mid_burst_loses_no_answered_event(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert proc.stdout is not None
    answered = [proc.stdout.readline().split() for _ in range(300)]
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    box = open_outbox(path)
    stored = {eid: seq for seq, eid, _ in box.pending(0, 100_000)}
    assert all(stored.get(eid) == int(seq) for eid, seq in answered)
    assert sorted(stored.values()) == list(range(1, len(stored) + 1))
    box.close()


def test_concurrent_callers_share_fsyncs_without_losing_or_repeating_a_seq(
    tmp_path: Path,
) -> None:
    box = open_outbox(tmp_path / "o.db")
    results: list[tuple[str, int]] = []
    lock = threading.Lock()

    def caller() -> None:
        for _ in range(40):
            r = box.append(vitals_event())
            with lock:
                results.append(r)

    threads = [threading.Thread(target=caller) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 640
    assert sorted(s for _, s in results) == list(range(1, 641))
    assert len({e for e, _ in results}) == 640
    assert box.commits < 640 / 2  # many appends per fsync
    assert box.depth()[0] == 640
    box.close()


def test_full_outbox_refuses_device_status_but_keeps_clinical_until_hard_limit(
    tmp_path: Path,
) -> None:
    """The limits count the database files on disk (database + WAL), not only event bodies."""
    empty = open_outbox(tmp_path / "o.db")
    base = empty.pressure().used_bytes
    empty.close()
    limit, hard = base + 32 * 1024, base + 64 * 1024
    box = open_outbox(tmp_path / "o.db", limit_bytes=limit, hard_limit_bytes=hard)
    accepted = []
    while box.pressure().used_bytes < limit:
        accepted.append(box.append(vitals_event()))
    with pytest.raises(OutboxFull) as refused:
        box.append(status_event())
    assert refused.value.code == "outbox_full"
    assert f"limit of {limit} bytes" in refused.value.reason
    assert f"límite de {limit} bytes" in refused.value.reason

    while True:  # clinical events still go in, up to the hard limit
        try:
            accepted.append(box.append(vitals_event()))
        except OutboxFull as exc:
            assert f"hard limit of {hard} bytes" in exc.reason
            break
    count, size, _ = box.depth()
    assert size <= hard
    assert box.pressure().used_bytes <= hard + 8192  # at most the last commit's WAL frames
    assert count == len(accepted)
    assert [(e, s) for s, e, _ in box.pending(0, 1000)] == accepted  # untouched by refusals
    assert "límite" in box.pressure().warning
    box.close()


def test_async_append_and_commit_listener(tmp_path: Path) -> None:
    import asyncio

    box = open_outbox(tmp_path / "o.db")
    woken = threading.Event()
    box.add_listener(woken.set)

    async def many() -> list[tuple[str, int]]:
        return await asyncio.gather(*(box.append_async(vitals_event()) for _ in range(50)))

    results = asyncio.run(many())
    assert sorted(s for _, s in results) == list(range(1, 51))
    assert woken.is_set()
    box.close()


def test_answered_callers_ride_the_next_fsync_together(tmp_path: Path) -> None:
    """32 callers in lockstep share one fsync per round, not half of them each.

    Without gathering, the callers answered by one commit come back while the
    writer already commits the other half: two commits per round of 32.
    """
    box = Outbox(
        tmp_path / "o.db", limit_bytes=1 << 24, hard_limit_bytes=1 << 25, gather_max_s=1.0
    ).open()
    events = [[vitals_event() for _ in range(20)] for _ in range(32)]
    go = threading.Barrier(32)

    def caller(mine: list[events_pb2.Event]) -> None:
        go.wait()
        for event in mine:
            box.append(event)

    threads = [threading.Thread(target=caller, args=(mine,)) for mine in events]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert box.depth()[0] == 640
    assert box.commits <= 640 / 32 + 4, box.commits
    box.close()


def test_last_seq_survives_deleting_the_newest_rows(tmp_path: Path) -> None:
    """Appends no longer write ``meta``; the delete that removes the newest rows does."""
    box = open_outbox(tmp_path / "o.db")
    first = [box.append(vitals_event())[0] for _ in range(3)]
    box.delete(first)
    newer = [box.append(vitals_event())[0] for _ in range(2)]
    box.delete(newer[1:])  # the newest row goes; seq 4 stays
    box.close()
    box = open_outbox(tmp_path / "o.db")
    assert box.append(vitals_event())[1] == 6
    box.close()


def test_files_size_between_reads_is_never_under_the_real_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between two fstat reads the outbox estimates its files' size (last read + each
    commit's bodies and WAL frames); the limits are only safe if that never falls short."""
    import edge_agent.outbox as outbox_module

    monkeypatch.setattr(outbox_module, "SIZES_MAX_AGE_S", 1e9)  # never read again by age
    box = open_outbox(tmp_path / "o.db", limit_bytes=1 << 40, hard_limit_bytes=1 << 41)
    box._disk_use_now()  # the one read
    for round_ in range(150):  # batches of 1-37 rows, deletes of 0-36 (a WAL wrap included)
        futures = [box.submit(vitals_event(50 + i)) for i in range(round_ % 37 + 1)]
        for f in futures:
            f.result()
        box.delete([e for e, _ in (f.result() for f in futures[: (round_ * 7) % 37])])
        estimate, _ = box._disk_use_now()
        real = box._files_size()
        assert estimate >= real, f"round {round_}: estimate {estimate} < files {real}"
    box.close()


def test_files_size_is_read_again_near_the_limit(tmp_path: Path) -> None:
    """Close to the soft limit the estimate is replaced by a fresh read every transaction."""
    box = open_outbox(tmp_path / "o.db", limit_bytes=1, hard_limit_bytes=1 << 30)
    for _ in range(3):
        box.append(vitals_event())
        estimate, _ = box._disk_use_now()
        assert estimate == box._files_size()
    box.close()
