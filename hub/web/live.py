"""The live telemedicine view of a case: its numerics pushed by the hub's live vitals feed (SSE).

The page subscribes to ``/console/cases/{id}/live/stream`` (behind the console
session), which relays the same feed as ``/v1/cases/{id}/vitals/live``. The page
keeps fixed-size ring buffers and a fixed DOM; it marks "signal lost" when no
reading came for ``LOST_AFTER_S`` seconds.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from hub.storage import clinical_timeline
from hub.web.case_data import vitals_hub
from hub.web.cases import CSP_WITH_SCRIPTS, ClinicianUser, console_facts, not_found, record_view
from hub.web.deps import render
from hub.web.localtime import VALUE_FORMAT
from hub.web.ranges import ORDER, SHOWN

router = APIRouter(prefix="/console", include_in_schema=False)

LOST_AFTER_S = 5.0  # a 1 Hz monitor that stays silent 5 s has lost its signal
KEEPALIVE_S = 5.0
LIVE_PARAMETERS = [p for p in ORDER if p != "perfusion_index"]


@router.get("/cases/{case_id}/live", response_class=HTMLResponse)
def live_page(request: Request, case_id: str, user: ClinicianUser) -> HTMLResponse:
    case = request.app.state.store.get_case(case_id)
    if case is None:
        return not_found(request, case_id)
    record_view(request, user, case_id, "live")
    vitals = vitals_hub(request)
    sessions = vitals.readings.sessions(case_id)
    session = sessions[-1] if sessions else None
    tiles = [{"key": k, **SHOWN[k].__dict__} for k in LIVE_PARAMETERS]
    # The last two minutes of the session: sparklines are drawn at once, and only the
    # parameters the monitor sends get a tile (the others stay hidden until one arrives).
    tail = (
        clinical_timeline.session_tail(request.app.state.store, session.session_id)
        if session
        else []
    )
    seen = {r["parameter"] for r in tail}
    response = render(
        request,
        "live.html",
        time_zone=console_facts(request).time_zone(case.unit_id),
        case=case,
        session=session,
        tiles=tiles,
        lost_after_s=LOST_AFTER_S,
        decimals=lambda key: VALUE_FORMAT.get(key, (1, "", ""))[0],
        seen=seen,
        tail_json=json.dumps(tail, separators=(",", ":")).replace("</", "<\\/"),
    )
    response.headers["Content-Security-Policy"] = CSP_WITH_SCRIPTS
    return response


@router.get("/cases/{case_id}/live/stream")
async def live_stream(request: Request, case_id: str, user: ClinicianUser) -> Response:
    """Server-Sent Events: ``reading`` per stored reading, ``session_start``/``session_stop``."""
    if request.app.state.store.get_case(case_id) is None:
        return Response(status_code=404)
    vitals = vitals_hub(request)
    sub = vitals.feed.subscribe(case_id)

    async def events() -> AsyncIterator[bytes]:
        try:
            hello = json.dumps({"server_time": time.time(), "lost_after_s": LOST_AFTER_S})
            yield f"event: hello\ndata: {hello}\n\n".encode()
            while True:
                try:
                    item = await asyncio.wait_for(sub.queue.get(), timeout=KEEPALIVE_S)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield b": keep-alive\n\n"
                    continue
                kind = item.get("event", "reading")
                data = json.dumps(item, separators=(",", ":"))
                yield f"event: {kind}\ndata: {data}\n\n".encode()
        finally:
            vitals.feed.unsubscribe(sub)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
