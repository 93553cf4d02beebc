"""Station clocks at ingest: the offset to record, and whether an event's time is to be flagged.

An event's time comes from the station clock. It is never a reason to lose the
event (an acknowledged clinical fact must reach the case): a time that cannot
be trusted is stored and flagged instead, and the case says so in words.

- The station's own estimate (``EventBatch.clock_offset_*``, from receipt round
  trips: no queueing in it) is the offset recorded when it is known.
- Otherwise the hub has only ``received - sent_at``, which is the true offset
  plus every delay on the way (broker queue while the hub was down, the hub's
  own queue): an upper bound. A strongly *negative* value is therefore proof
  that the station clock is ahead; a positive one proves nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.ingest.limits import timestamp_problem
from protos import events_pb2

CLOCK_OFF = "station_clock_off"  # the station clock was off: the time shown is the station's
TIME_UNVERIFIED = "time_unverified"  # implausible time and no estimate to explain it


@dataclass(frozen=True, slots=True)
class StationClock:
    offset_ms: int  # hub clock minus station clock (estimate, or an upper bound)
    known: bool  # True: the station's round-trip estimate; False: received - sent_at


_MAX_OFFSET_MS = 100 * 366 * 24 * 3600 * 1000  # past a century it is no clock reading


def station_clock(batch: events_pb2.EventBatch, received_at_s: float) -> StationClock:
    """The station's clock offset as this batch tells it; nonsense values tell nothing."""
    if batch.clock_offset_known and abs(batch.clock_offset_ms) <= _MAX_OFFSET_MS:
        return StationClock(int(batch.clock_offset_ms), True)
    sent = batch.sent_at
    if batch.HasField("sent_at") and not timestamp_problem(sent.seconds, sent.nanos):
        offset_ms = round((received_at_s - sent.seconds - sent.nanos / 1e9) * 1000)
        if abs(offset_ms) <= _MAX_OFFSET_MS:
            return StationClock(offset_ms, False)
    return StationClock(0, False)


def time_flag(
    occurred_s: float, now_s: float, clock: StationClock, flag_s: float, max_skew_s: float
) -> str:
    """'' when the event's time can be trusted; otherwise why not (CLOCK_OFF, TIME_UNVERIFIED)."""
    ahead_proven = clock.offset_ms < -flag_s * 1000  # holds for an upper bound too
    if ahead_proven or (clock.known and abs(clock.offset_ms) > flag_s * 1000):
        return CLOCK_OFF
    if occurred_s > now_s + flag_s:  # a fact cannot have happened in the future
        return CLOCK_OFF if clock.known else TIME_UNVERIFIED
    if now_s - occurred_s > max_skew_s:
        return TIME_UNVERIFIED
    return ""
