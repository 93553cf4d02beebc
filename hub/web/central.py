"""The central station view for specialists: every running telemedicine session as a tile,
each parameter against its alarm limits (defaults by age group), alarm priority in colour
and in words, a stale-data indicator, acknowledgements recorded and audited.

The page polls ``/console/central/tiles`` (an HTML fragment) every second: one small request
per viewer whatever the number of sessions (twenty SSE streams would exceed the browser's
six connections per host).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.ingest.timefmt import now_iso
from hub.storage import central_station
from hub.web.alarm_limits import check, defaults
from hub.web.cases import CSP_WITH_SCRIPTS, ClinicianUser, console_facts, record_view
from hub.web.deps import Csrf, render
from hub.web.localtime import parse
from hub.web.ranges import ORDER

router = APIRouter(prefix="/console", include_in_schema=False)

STALE_AFTER_S = 10.0  # a 1 Hz stream silent this long is flagged "no recent data"
ACK_HOLDS_S = 120.0  # an acknowledged alarm stays quiet this long, then speaks again


def tiles(request: Request, unit: str) -> list[dict[str, Any]]:
    store = request.app.state.store
    sessions = central_station.running(store, unit)
    patients = console_facts(request).patients([s.case_id for s in sessions])
    now = datetime.now(UTC)
    out: list[dict[str, Any]] = []
    for s in sessions:
        patient = patients.get(s.case_id)
        group, limits = defaults(patient.birth_date if patient else "")
        limits |= s.limits
        params = []
        for key in sorted(s.latest, key=lambda k: ORDER.index(k) if k in ORDER else 99):
            value, at = s.latest[key]
            moment = parse(at)
            age = (now - moment).total_seconds() if moment else 1e9
            side = check(key, value, limits)
            acked = s.acked.get(key)
            acked_recent = bool(acked) and (now - (parse(acked or "") or now)) < timedelta(
                seconds=ACK_HOLDS_S
            )
            state = "alarm" if side and not acked_recent else "acked" if side else "normal"
            params.append(
                {
                    "key": key,
                    "value": value,
                    "side": side,
                    "limit": limits.get(key, (None, None))[0 if side == "low" else 1],
                    "state": state,
                    "stale": age > STALE_AFTER_S,
                    "age": int(age),
                    "low": limits.get(key, (None, None))[0],
                    "high": limits.get(key, (None, None))[1],
                    "custom": key in s.limits,
                }
            )
        last = parse(s.last_at)
        out.append(
            {
                "s": s,
                "patient": patient,
                "group": group,
                "params": params,
                "alarms": sum(1 for p in params if p["state"] == "alarm"),
                "stale": last is None or (now - last).total_seconds() > STALE_AFTER_S,
            }
        )
    out.sort(key=lambda x: (-x["alarms"], x["s"].unit_id, x["s"].started_at))
    return out


@router.get("/central", response_class=HTMLResponse)
def station_page(request: Request, user: ClinicianUser, unit: str = "") -> HTMLResponse:
    response = render(request, "central.html", rows=tiles(request, unit.strip()), unit=unit)
    response.headers["Content-Security-Policy"] = CSP_WITH_SCRIPTS
    return response


@router.get("/central/tiles", response_class=HTMLResponse)
def station_tiles(request: Request, user: ClinicianUser, unit: str = "") -> HTMLResponse:
    return render(request, "central_tiles.html", rows=tiles(request, unit.strip()), unit=unit)


@router.post("/central/ack", dependencies=[Csrf])
def acknowledge(
    request: Request,
    user: ClinicianUser,
    session_id: Annotated[str, Form(max_length=64)],
    parameter: Annotated[str, Form(max_length=64)],
    unit: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Acknowledge one parameter's alarm of one session; recorded and in the view audit."""
    running = {s.session_id: s for s in central_station.running(request.app.state.store)}
    s = running.get(session_id)
    if s is None or parameter not in s.latest:
        return Response(status_code=404)
    value = s.latest[parameter][0]
    central_station.acknowledge(
        request.app.state.store, session_id, s.case_id, parameter, value, user.name, now_iso()
    )
    record_view(request, user, s.case_id, f"alarm_ack:{parameter}")
    target = "/console/central" + (f"?unit={unit}" if unit else "")
    return RedirectResponse(target, status_code=303)


def _bound(text: str) -> float | None:
    text = text.strip().replace(",", ".")
    return float(text) if text else None


@router.post("/central/limits", dependencies=[Csrf])
def set_limits(
    request: Request,
    user: ClinicianUser,
    session_id: Annotated[str, Form(max_length=64)],
    parameter: Annotated[str, Form(max_length=64)],
    low: Annotated[str, Form(max_length=16)] = "",
    high: Annotated[str, Form(max_length=16)] = "",
    unit: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Alarm limits of one parameter for one session (empty: no limit on that side)."""
    running = {s.session_id: s for s in central_station.running(request.app.state.store)}
    s = running.get(session_id)
    if s is None or parameter not in ORDER:
        return Response(status_code=404)
    try:
        lo, hi = _bound(low), _bound(high)
    except ValueError:
        return Response("limits must be numbers / los límites deben ser números", 422)
    if lo is not None and hi is not None and lo >= hi:
        return Response("low must be below high / el mínimo debe ser menor que el máximo", 422)
    central_station.set_limits(
        request.app.state.store, session_id, parameter, lo, hi, user.name, now_iso()
    )
    record_view(request, user, s.case_id, f"alarm_limits:{parameter}")
    target = "/console/central" + (f"?unit={unit}" if unit else "")
    return RedirectResponse(target, status_code=303)
