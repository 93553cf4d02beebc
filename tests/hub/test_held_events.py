"""Events held behind a gap are kept for a bounded time and count, then left to the re-send."""

from __future__ import annotations

from hub.ingest.held import HeldEvents
from hub.ingest.pipeline import Incoming


def _msg(arrived: float) -> Incoming:
    return Incoming("puente/v1/u/s/events", b"", arrived, retried=True)


def test_held_events_expire_a_ttl_after_they_first_arrived() -> None:
    held = HeldEvents(ttl_s=10, max_messages=100)
    held.keep([_msg(100.0), _msg(105.0)])
    assert [m.received_at for m in held.take(now=108.0)] == [100.0, 105.0]
    held.keep([_msg(100.0), _msg(105.0)])  # held back again, same first arrival
    assert [m.received_at for m in held.take(now=112.0)] == [105.0]
    assert held.dropped == 1
    assert len(held) == 0


def test_held_events_are_bounded_oldest_first() -> None:
    held = HeldEvents(ttl_s=60, max_messages=2)
    held.keep([_msg(1.0), _msg(2.0), _msg(3.0)])
    assert [m.received_at for m in held.take(now=4.0)] == [2.0, 3.0]
    assert held.dropped == 1
