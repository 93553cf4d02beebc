"""Device actions that touch a person, shown on the agent's own page while they run; refusable.

A capture of a finger, a scan, a signature or a set of vital signs started by a
web page appears on ``/ui/pairing`` (section "Acciones") with the site that
asked, the action and the case; the user at the PC can refuse it, which
cancels it at the device. Finished actions stay listed for a while.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from edge_agent.capabilities.activity.errors import RefusedAtStation


@dataclass
class Activity:
    activity_id: str
    origin: str
    action: str
    case_id: str
    patient_id: str
    started_at: float
    state: str = "running"  # running | done | failed | refused
    ended_at: float | None = None
    note: str = ""  # Spanish / English words about the outcome, e.g. a scan's page count
    _cancel: Callable[[], None] | None = field(default=None, repr=False)

    @property
    def refused(self) -> bool:
        return self.state == "refused"


class ActivityBoard:
    def __init__(self, keep: int = 50) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, Activity] = {}
        self._recent: deque[Activity] = deque(maxlen=keep)

    def begin(
        self,
        origin: str | None,
        action: str,
        case_id: str = "",
        patient_id: str = "",
        cancel: Callable[[], None] | None = None,
    ) -> Activity:
        activity = Activity(
            activity_id=secrets.token_urlsafe(9),
            origin=origin or "local",
            action=action,
            case_id=case_id,
            patient_id=patient_id,
            started_at=time.time(),
            _cancel=cancel,
        )
        with self._lock:
            self._running[activity.activity_id] = activity
        return activity

    def end(self, activity: Activity, state: str, note: str = "") -> None:
        with self._lock:
            self._running.pop(activity.activity_id, None)
            if activity.state == "running":
                activity.state = state
            activity.ended_at = time.time()
            activity.note = note
            self._recent.appendleft(activity)

    @contextmanager
    def track(
        self,
        origin: str | None,
        action: str,
        case_id: str = "",
        patient_id: str = "",
        cancel: Callable[[], None] | None = None,
    ) -> Iterator[Activity]:
        """Show the action while the block runs; raise RefusedAtStation if the user refused it."""
        activity = self.begin(origin, action, case_id, patient_id, cancel)
        try:
            yield activity
        except Exception:
            self.end(activity, "failed")
            if activity.refused:
                raise RefusedAtStation() from None
            raise
        self.end(activity, "done")
        if activity.refused:
            raise RefusedAtStation()

    def refuse(self, activity_id: str) -> bool:
        with self._lock:
            activity = self._running.get(activity_id)
            if activity is None:
                return False
            activity.state = "refused"
        if activity._cancel is not None:
            activity._cancel()
        return True

    def snapshot(self) -> dict[str, list[dict[str, object]]]:
        def view(a: Activity) -> dict[str, object]:
            return {
                "activity_id": a.activity_id,
                "origin": a.origin,
                "action": a.action,
                "case_id": a.case_id,
                "patient_id": a.patient_id,
                "state": a.state,
                "started_at": a.started_at,
                "ended_at": a.ended_at,
                "note": a.note,
            }

        with self._lock:
            return {
                "running": [view(a) for a in self._running.values()],
                "recent": [view(a) for a in self._recent],
            }
