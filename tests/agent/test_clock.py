"""The station clock against the hub's, from round trips: smallest round trip wins, steps reset."""

from __future__ import annotations

from edge_agent.clock import ClockEstimate


def test_the_sample_with_the_smallest_round_trip_is_the_estimate() -> None:
    clock = ClockEstimate()
    # Station 2 h ahead. A queued batch (30 s round trip) would say 15 s less.
    clock.add(sent_wall=10_000.0, hub_committed=10_000.0 - 7200 + 25, received_wall=10_030.0)
    clock.add(sent_wall=10_100.0, hub_committed=10_100.0 - 7200 + 0.05, received_wall=10_100.1)
    estimate = clock.current()
    assert estimate is not None
    assert estimate.offset_ms == -7_200_000
    assert estimate.error_ms == 50
    assert "ahead" in estimate.warning(60) and "adelantado" in estimate.warning(60)


def test_a_clock_step_voids_older_samples() -> None:
    clock = ClockEstimate()
    clock.add(10_000.0, 10_000.0 - 7200 + 0.01, 10_000.02)
    clock.add(10_050.0, 10_050.0 + 0.01, 10_050.02)  # the PC's clock was corrected
    estimate = clock.current()
    assert estimate is not None and abs(estimate.offset_ms) < 100
    assert estimate.warning(60) == ""


def test_a_negative_round_trip_is_ignored() -> None:
    clock = ClockEstimate()
    clock.add(10_000.0, 10_000.0, 9_999.0)
    assert clock.current() is None
