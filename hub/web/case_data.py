"""What a case page shows, read once from the hub's stores: events, confirmations, documents,
vitals, and the two flags of the case list (missing confirmation, unsigned document)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import Request

from hub.api.biometrics import case_biometrics
from hub.api.deps import Caller
from hub.services.confirmations import is_missing
from hub.services.dispensing import checked_dispensings
from hub.services.documents import case_documents, is_unsigned
from hub.storage import case_vitals, clinical_timeline, cursors
from hub.storage.base import Case, StoredEvent
from hub.tokens import Role
from hub.web import case_flag_labels as _flag_labels  # noqa: F401 - registers the labels
from hub.web.ranges import ORDER, SHOWN, shown

TIMELINE_MAX = 300  # newest events listed on the page; the rest through "older"
TABLE_MAX = 300  # newest readings in the table under the charts


@dataclass
class CasePage:
    case: Case
    timeline: list[StoredEvent]
    timeline_next: str | None
    kinds: Counter[str]
    event_count: int
    biometrics: Any  # hub.api.biometrics.CaseBiometricsOut
    documents: list[dict[str, Any]]
    charts: list[dict[str, Any]]
    readings_table: list[dict[str, Any]]
    reading_count: int
    rejected: list[dict[str, Any]]
    sessions: list[Any]
    flags: dict[str, bool] = field(default_factory=dict)
    # The timeline's rows: ("event", StoredEvent) and ("stream", StreamSummary), newest first.
    entries: list[tuple[str, str, Any]] = field(default_factory=list)
    # Accepted readings that need a word: assigned by a person from the station's
    # unassigned-readings inbox (who, when, why they were not attached), or flagged
    # (blood pressure incomplete, stale).
    noted: list[dict[str, Any]] = field(default_factory=list)
    dispensed: list[Any] = field(default_factory=list)  # (Dispensing, DispensingCheck)


# Reading flags the case page spells out (the others stay in the API).
NOTED_FLAGS = ("bp_incomplete", "stale")


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def vitals_hub(request: Request) -> Any:
    """The hub's VitalsHub (readings, live feed); an app built without HubService makes one."""
    vitals = getattr(request.app.state, "vitals", None)
    if vitals is None:
        from hub.vitals.service import VitalsHub

        vitals = VitalsHub.for_store(request.app.state.store)
        request.app.state.vitals = vitals
    return vitals


def documents(request: Request, case_id: str) -> list[dict[str, Any]]:
    """Each document of the case (latest revision first) with validation and workflow."""
    return case_documents(request.app.state.store, request.app.state.bodies, case_id)


def noted_readings(request: Request, case_id: str) -> list[dict[str, Any]]:
    """Accepted readings assigned from a station's inbox, or carrying a flag to spell out."""
    out = []
    for n in case_vitals.noted(request.app.state.store, case_id):
        r = n.reading
        flags = [f for f in r.flags if f in NOTED_FLAGS]
        if n.assigned_by is not None or flags:
            out.append(
                {
                    "parameter": r.parameter,
                    "value": r.value,
                    "unit": r.unit,
                    "measured_at": r.measured_at,
                    "flags": flags,
                    "assigned_by": n.assigned_by,
                    "assigned_at": n.assigned_at,
                }
            )
    return out


def _ordered(parameters: Any) -> list[str]:
    return sorted(parameters, key=lambda k: (ORDER.index(k) if k in ORDER else 99, k))


def vitals_summary(
    request: Request, case_id: str
) -> tuple[list[dict], list[dict], int, list[dict]]:
    """(summary per parameter, newest readings for the table, accepted count, rejected), read
    without loading every reading: the page paints first, ``chart_series`` comes after."""
    store = request.app.state.store
    bounds = {k: (v.low, v.high) for k, v in SHOWN.items() if v.high}
    by_parameter = {s.parameter: s for s in case_vitals.summary(store, case_id, bounds)}
    charts: list[dict[str, Any]] = []
    for key in _ordered(by_parameter):
        s = by_parameter[key]
        info = shown(key, s.unit)
        charts.append(
            {
                "parameter": key,
                "es": info.es,
                "en": info.en,
                "unit": info.unit,
                "low": info.low,
                "high": info.high,
                "count": s.count,
                "min": s.min,
                "max": s.max,
                "last": s.last,
                "out_of_range": s.outside,
            }
        )
    table = [
        {
            "parameter": r.parameter,
            "value": r.value,
            "unit": shown(r.parameter, r.unit).unit,
            "measured_at": r.measured_at,
        }
        for r in case_vitals.newest(store, case_id, TABLE_MAX)
    ]
    rejected = []
    for r in case_vitals.rejected(store, case_id):
        rejected.append(
            {
                "parameter": r.parameter,
                "mdc_code": r.mdc_code,
                "value": r.value,
                "unit": r.unit,
                "measured_at": r.measured_at,
                "reason_code": r.reason_code if r.status != "accepted" else "out_of_range",
                "reason": r.reason,
            }
        )
    count = sum(c["count"] for c in charts)
    return charts, merge_blood_pressure(table), count, rejected


def chart_series(request: Request, case_id: str) -> list[dict[str, Any]]:
    """Each parameter's accepted readings as chart series (epoch seconds, values), in the
    order of the page's charts; fetched by the page's script once it is painted."""
    readings = vitals_hub(request).readings.readings(case_id, None, None, None, "accepted")
    series: dict[str, dict[str, Any]] = {}
    for r in readings:
        try:
            at = round(_epoch(r.measured_at), 3)
        except ValueError:  # stored by an older hub: listed with the rejected readings
            continue
        s = series.setdefault(r.parameter, {"t": [], "v": [], "unit": r.unit})
        s["t"].append(at)
        s["v"].append(r.value)
    out = []
    for key in _ordered(series):
        info = shown(key, series[key]["unit"])
        out.append(
            {"parameter": key, "es": info.es, "en": info.en, "unit": info.unit}
            | {"low": info.low, "high": info.high, "t": series[key]["t"], "v": series[key]["v"]}
        )
    return out


def case_page(request: Request, case: Case, before: str | None) -> CasePage:
    store = request.app.state.store
    # Stream batches never take timeline rows: each session is one entry (its summary).
    page = clinical_timeline.timeline(store, case.case_id, TIMELINE_MAX, before)
    kinds: Counter[str] = clinical_timeline.kinds(store, case.case_id)
    streams = clinical_timeline.sessions(store, case.case_id)
    if streams:
        kinds["vital_stream"] = len(streams)
    newest = cursors.decode(before, 2)[0] if before else None
    oldest = page.items[-1].occurred_at if page.items and page.next_cursor else ""
    entries: list[tuple[str, str, Any]] = [(e.occurred_at, "event", e) for e in page.items]
    for s in streams:
        if s.started_at >= oldest and (newest is None or s.started_at <= newest):
            entries.append((s.started_at, "stream", s))
    entries.sort(key=lambda x: x[0], reverse=True)
    bio = case_biometrics(case.case_id, Caller("console", Role.READONLY), store, request)
    # Summaries only: the chart series are fetched by the page once it is painted.
    charts, table, count, rejected = vitals_summary(request, case.case_id)
    docs = documents(request, case.case_id)
    return CasePage(
        case=case,
        timeline=page.items,
        entries=entries,
        timeline_next=page.next_cursor,
        kinds=kinds,
        event_count=sum(kinds.values()),
        biometrics=bio,
        documents=docs,
        charts=charts,
        readings_table=table,
        reading_count=count,
        rejected=rejected,
        sessions=vitals_hub(request).readings.sessions(case.case_id),
        noted=noted_readings(request, case.case_id),
        dispensed=checked_dispensings(store, case.case_id),
        flags={
            "missing_confirmation": is_missing(bio.steps),
            "unsigned_document": any(is_unsigned(d["workflow"]) for d in docs),
            "cross_unit_confirmation": bio.cross_unit_confirmations > 0,
        },
    )


def event_detail(e: StoredEvent, t: Callable[..., str], w: Callable[..., str], local: Any) -> str:
    """A short summary of an event's payload for the timeline, in the page's words."""
    p: dict[str, Any] = e.payload or {}
    if e.kind == "vital_signs":
        n = len(p.get("readings", []) or [])
        return t("detail_vitals", mode=w("mode_", p.get("mode", "") or "spot"), n=n)
    if e.kind == "biometric_confirmation":
        return f"{w('step_', p.get('step', ''))}: {w('decision_', p.get('decision', ''))}"
    if e.kind in ("signed_document", "scanned_document"):
        return w("doctype_", p.get("document_type", ""))
    if e.kind == "device_status":
        return w("devstate_", str(p.get("state", "")).lower())
    if e.kind == "medication_dispensed":
        return f"{len(p.get('items', []) or [])} · {p.get('pharmacist_id', '')}"
    return ""


def merge_blood_pressure(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Systolic and diastolic read at the same instant become one "120/80 mmHg" row."""
    out: list[dict[str, Any]] = []
    pending: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["parameter"] in ("bp_systolic", "bp_diastolic"):
            other = "bp_diastolic" if r["parameter"] == "bp_systolic" else "bp_systolic"
            mate = pending.get(r["measured_at"])
            if mate is not None and mate["parameter"] == other:
                sys_, dia = (r, mate) if r["parameter"] == "bp_systolic" else (mate, r)
                mate.update(
                    parameter="blood_pressure", value=(sys_["value"], dia["value"]), unit="mmHg"
                )
                del pending[r["measured_at"]]
                continue
            pending[r["measured_at"]] = r
        out.append(r)
    return out
