"""A shorter GIL switch interval for processes whose threads hand each message to each other.

An event crosses several threads of one process on its way: in the agent the outbox writer,
the uplink sender and paho's network thread (and back for its receipt); in the hub paho's
network thread and the ingest writer. A thread woken for its step must take the GIL from
whichever thread is running Python; CPython asks that thread to let go only after the switch
interval, 5 ms by default, so every hand-over can cost up to 5 ms while the process is busy
(a burst of commits, payload rendering, 25 simulated stations in one bench process). At 1 ms
a hand-over waits at most about 1 ms; the extra switches cost little next to that.
"""

from __future__ import annotations

import sys

SWITCH_INTERVAL_S = 0.001


def quick_handover(interval_s: float = SWITCH_INTERVAL_S) -> None:
    """Lower the process's GIL switch interval to ``interval_s`` (never raise it)."""
    if sys.getswitchinterval() > interval_s:
        sys.setswitchinterval(interval_s)
