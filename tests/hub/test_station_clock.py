"""Station clocks at ingest: a wrong clock flags an event's time, it never loses the event."""

from __future__ import annotations

from hub.ingest.clock import CLOCK_OFF, TIME_UNVERIFIED, StationClock, station_clock, time_flag
from protos import events_pb2

NOW = 1_800_000_000.0
YEAR = 366 * 24 * 3600


def flag(occurred: float, offset_ms: int, known: bool) -> str:
    return time_flag(occurred, NOW, StationClock(offset_ms, known), 120, YEAR)


def test_a_right_clock_and_an_old_backlog_are_not_flagged() -> None:
    assert flag(NOW - 5, 30, True) == ""
    assert flag(NOW - 4 * 3600, 40, True) == ""  # four hours offline: a legitimate backlog
    assert flag(NOW - 4 * 3600, 4 * 3600 * 1000, False) == ""  # queueing, not a clock: unknown


def test_a_clock_known_to_be_off_flags_the_time() -> None:
    assert flag(NOW + 7200, -7200 * 1000, True) == CLOCK_OFF
    assert flag(NOW - 7200, 7200 * 1000, True) == CLOCK_OFF  # behind, by the round trip


def test_a_negative_upper_bound_proves_the_clock_ahead() -> None:
    # received - sent_at can only be inflated by delays: -2 h means at least 2 h ahead.
    assert flag(NOW + 7200, -7200 * 1000, False) == CLOCK_OFF


def test_a_future_or_ancient_time_without_an_estimate_is_unverified() -> None:
    assert flag(NOW + 600, 0, False) == TIME_UNVERIFIED
    assert flag(NOW - 2 * YEAR, 0, False) == TIME_UNVERIFIED


def test_the_station_estimate_wins_over_received_minus_sent() -> None:
    batch = events_pb2.EventBatch(clock_offset_ms=-5000, clock_offset_known=True)
    batch.sent_at.FromSeconds(int(NOW))
    assert station_clock(batch, NOW + 3600) == StationClock(-5000, True)
    batch = events_pb2.EventBatch()
    batch.sent_at.FromSeconds(int(NOW))
    assert station_clock(batch, NOW + 3600) == StationClock(3_600_000, False)
