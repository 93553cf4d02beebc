"""bench/ingest_checks: what the range checks of ingest cost, as ratios to baselines in one run.

Run: ``.venv/bin/python -m bench.ingest_checks [--events 5000 --readings 10]``. Measures:
- baseline (a): protobuf decode of the serialized events (what ingest does anyway);
- the range checks (``hub.ingest.limits.check_message``) of the same decoded events;
- baseline (b): ``process_batch`` (validate + commit to SQLite, 100 events per message,
  10 messages per commit) with the checks switched off, against the same with them on
  (best of three each, alternating); printed as checks/decode and with/without.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from pathlib import Path
from unittest import mock


def _events(n: int, readings: int) -> list[bytes]:
    from tests.hub.events import vitals_event

    out = []
    for i in range(n):
        event = vitals_event(station_seq=i + 1)
        for _ in range(readings - 1):
            event.vital_signs.readings.add().CopyFrom(event.vital_signs.readings[0])
        out.append(event.SerializeToString())
    return out


def _commit_rate(raws: list[bytes], checks: bool) -> float:
    from hub.ingest import validation
    from hub.ingest.pipeline import Incoming, process_batch
    from hub.storage.sqlite import SQLiteStore
    from protos import topics
    from tests.hub.events import STATION, UNIT, batch_bytes

    store = SQLiteStore(Path(tempfile.mkdtemp()) / "bench.sqlite3")
    store.migrate()
    store.register_station(STATION, UNIT, "2025-01-01T00:00:00.000000Z")
    messages = [
        Incoming(topics.events(UNIT, STATION), batch_bytes(*raws[i : i + 100]), time.time())
        for i in range(0, len(raws), 100)
    ]
    off = mock.patch.object(validation, "check_message", lambda *_: None)
    with off if not checks else contextlib.nullcontext():
        started = time.perf_counter()
        for i in range(0, len(messages), 10):
            process_batch(messages[i : i + 10], store, 3600)
        elapsed = time.perf_counter() - started
    store.close()
    return len(raws) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--readings", type=int, default=10)
    args = parser.parse_args()

    from hub.ingest.limits import IngestLimits, check_message
    from protos import events_pb2

    raws = _events(args.events, args.readings)
    started = time.perf_counter()
    decoded = [events_pb2.Event.FromString(r) for r in raws]
    decode_s = time.perf_counter() - started
    limits = IngestLimits()
    started = time.perf_counter()
    for event in decoded:
        check_message(event, limits)
    check_s = time.perf_counter() - started
    # Best of three, alternating, on a shared machine.
    without = with_checks = 0.0
    for _ in range(3):
        without = max(without, _commit_rate(raws, checks=False))
        with_checks = max(with_checks, _commit_rate(raws, checks=True))
    print(f"events: {args.events}, readings per event: {args.readings}")
    print(f"decode: {decode_s / len(raws) * 1e6:.1f} us/event (baseline a)")
    print(f"checks: {check_s / len(raws) * 1e6:.1f} us/event = {check_s / decode_s:.1f} x decode")
    print(
        f"validate+commit: {with_checks:.0f} events/s with checks, {without:.0f} without "
        f"(baseline b) = {with_checks / without:.2f} x"
    )


if __name__ == "__main__":
    main()
