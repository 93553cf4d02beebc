"""Events: one by id, the unmatched ones (naming an unknown case), and the quarantine."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from hub.api.deps import CaseWriter, Ops, Reader, SettingsDep, StoreDep
from hub.api.models import EventOut, EventPage, QuarantineOut, QuarantinePage, ReingestOut
from hub.api.problems import ApiError
from hub.ingest.reingest import NotQuarantined, reingest

router = APIRouter(prefix="/v1", tags=["events"])

Limit = Annotated[int, Query(ge=1, le=500)]


@router.get("/events/unmatched", response_model=EventPage)
def unmatched(
    _caller: CaseWriter, store: StoreDep, limit: Limit = 50, before: str | None = None
) -> EventPage:
    """Events naming a case the hub does not know (yet), newest received first."""
    page = store.unmatched_events(limit, before)
    return EventPage(items=[EventOut.of(e) for e in page.items], next_cursor=page.next_cursor)


@router.get("/events/{event_id}", response_model=EventOut)
def get_event(event_id: str, _caller: Reader, store: StoreDep) -> EventOut:
    event = store.get_event(event_id)
    if event is None:
        raise ApiError(
            404,
            "event_not_found",
            "Not found / No encontrado",
            f"no event {event_id} / no existe el evento {event_id}",
        )
    return EventOut.of(event)


@router.get("/quarantine", response_model=QuarantinePage)
def quarantine(
    _caller: Ops, store: StoreDep, limit: Limit = 50, before: str | None = None
) -> QuarantinePage:
    """What stations sent that will never be stored, and why; newest first."""
    page = store.list_quarantine(limit, before)
    return QuarantinePage(
        items=[QuarantineOut.of(q) for q in page.items], next_cursor=page.next_cursor
    )


@router.post("/quarantine/{quarantine_id}/reingest", response_model=ReingestOut)
def reingest_quarantined(
    quarantine_id: int, _caller: Ops, store: StoreDep, settings: SettingsDep
) -> ReingestOut:
    """Run a quarantined event through today's ingest rules (e.g. a station clock far off,
    now stored flagged instead of refused); the outcome is kept on the quarantine entry."""
    try:
        done = reingest(store, quarantine_id, settings.max_clock_skew_s, settings.clock_flag_s)
    except NotQuarantined:
        raise ApiError(
            404,
            "quarantine_not_found",
            "Not found / No encontrado",
            f"no quarantine entry {quarantine_id} / no existe la entrada {quarantine_id}",
        ) from None
    return ReingestOut(
        quarantine_id=done.quarantine_id,
        event_id=done.event_id,
        outcome=done.outcome,
        reason=done.reason,
    )
