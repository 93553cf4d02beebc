"""The simulated monitor keeps its own clock: a reader polling in short chunks gets no flood.

Found when streams read the monitor 0.5 s at a time: the simulator answered each call at
once, so a 1 Hz monitor produced thousands of readings a second and the hub refused the
stream's events as too large.
"""

from __future__ import annotations

import time

from drivers.vitals.sim import SimulatedMonitor


def test_short_reads_of_a_one_hertz_monitor_give_about_one_set_a_second() -> None:
    monitor = SimulatedMonitor(seed=1, interval_s=0.5)
    readings = 0
    end = time.monotonic() + 1.2
    while time.monotonic() < end:
        readings += sum(1 for _ in monitor.numerics(0.1))
    sets = readings // 6
    assert 1 <= sets <= 4, f"{sets} sets in 1.2 s at one set per 0.5 s"
