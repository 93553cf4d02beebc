"""Clinician console pages: the cases list, the case page, document bodies; the view audit (ops).

Every case page, live view and document opened is written to the audit log
(``case_views``) before the response is sent.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from typing import Annotated, TypedDict
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from hub.ingest.timefmt import now_iso
from hub.services import cases as cases_service
from hub.services.dispensing import dispensed_lines
from hub.storage.case_queries import CaseFilter
from hub.storage.case_views import CaseViewLog
from hub.storage.console_facts import DEFAULT_TIME_ZONE, ConsoleFacts
from hub.web import case_data
from hub.web import clinical_labels as _labels  # noqa: F401 - registers the labels
from hub.web.auth import WebRole, WebUser
from hub.web.deps import OpsUser, render, require_role
from hub.web.i18n import pick
from hub.web.localtime import VALUE_FORMAT, Local, zone

router = APIRouter(prefix="/console", include_in_schema=False)

ClinicianUser = Annotated[WebUser, Depends(require_role(WebRole.CLINICIAN))]
PER_PAGE = 25
# Pages with scripts: only our own files (no inline script); the CSS stays 'self'.
CSP_WITH_SCRIPTS = (
    "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def audit_log(request: Request) -> CaseViewLog:
    log: CaseViewLog = request.app.state.store.case_views()
    return log


def console_facts(request: Request) -> ConsoleFacts:
    facts = getattr(request.app.state, "console_facts", None)
    if facts is None:
        facts = ConsoleFacts(request.app.state.store)
        request.app.state.console_facts = facts
    return facts


def record_view(request: Request, user: WebUser, case_id: str, what: str) -> None:
    client = request.client.host if request.client else ""
    audit_log(request).record(user.name, user.role.value, case_id, what, client, now_iso())


def not_found(request: Request, what: str) -> HTMLResponse:
    return render(request, "error.html", 404, title_key="not_found", role="", detail=what)


def _day(value: str, end: bool = False) -> str | None:
    """A YYYY-MM-DD from the form as an ISO bound (end: the next day, exclusive)."""
    from datetime import date, timedelta

    try:
        d = date.fromisoformat(value.strip())
    except ValueError:
        return None
    return (d + timedelta(days=1 if end else 0)).isoformat()


@router.get("/cases", response_class=HTMLResponse)
def case_list(
    request: Request,
    user: ClinicianUser,
    patient: str = "",
    unit: str = "",
    since: str = "",
    until: str = "",
    missing: bool = False,
    unsigned: bool = False,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    found, total = cases_service.search(
        request.app.state.store,
        CaseFilter(patient.strip(), unit.strip(), _day(since), _day(until, end=True)),
        list(request.app.state.settings.biometric_required_steps),
        missing=missing,
        unsigned=unsigned,
        page=page,
        per_page=PER_PAGE,
    )
    zones = console_facts(request).time_zones()
    patients = console_facts(request).patients([r.summary.case_id for r in found])
    dispensed = dispensed_lines(request.app.state.store, [r.summary.case_id for r in found])
    rows = [
        asdict(r.summary)
        | {
            "missing": r.missing,
            "unsigned": r.unsigned,
            "tz": zones.get(r.summary.unit_id, ""),
            "patient": patients.get(r.summary.case_id),
            "dispensed": dispensed.get(r.summary.case_id, []),
        }
        for r in found
    ]
    query = {"patient": patient, "unit": unit, "since": since, "until": until}
    query |= {"missing": "1" if missing else "", "unsigned": "1" if unsigned else ""}
    return render(
        request,
        "case_list.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        q=query,
        qs="&".join(f"{k}={v}" for k, v in query.items() if v),
    )


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    request: Request, case_id: str, user: ClinicianUser, before: str | None = None
) -> HTMLResponse:
    case = request.app.state.store.get_case(case_id)
    if case is None:
        return not_found(request, case_id)
    record_view(request, user, case_id, "case")
    data = case_data.case_page(request, case, before)
    response = render(
        request,
        "case.html",
        time_zone=console_facts(request).time_zone(case.unit_id),
        patient=console_facts(request).patient(case_id),
        d=data,
        detail=case_data.event_detail,
        before=before,
    )
    response.headers["Content-Security-Policy"] = CSP_WITH_SCRIPTS
    return response


@router.get("/cases/{case_id}/charts")
def case_charts(request: Request, case_id: str, user: ClinicianUser) -> Response:
    """The case page's chart series (every accepted reading), fetched by the page's script
    after it is painted: a case with thousands of readings no longer holds back the page.
    The page view itself is what the audit records (``case``)."""
    case = request.app.state.store.get_case(case_id)
    if case is None:
        return Response(status_code=404)
    lang = pick(request.headers.get("accept-language"), request.state.session.lang)
    local = Local(lang)
    charts = [
        c
        | {
            "unit": local.unit(c["parameter"], c["unit"]),
            "decimals": VALUE_FORMAT.get(c["parameter"], (1, "", ""))[0],
        }
        for c in case_data.chart_series(request, case_id)
    ]
    body = json.dumps(charts, separators=(",", ":"))
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})


@router.get("/cases/{case_id}/documents/{sha256}")
def document_body(
    request: Request, case_id: str, sha256: str, user: ClinicianUser, download: bool = False
) -> Response:
    """A document body of this case, served from the hub's body store (view or download)."""
    row = request.app.state.store.case_queries().document_file(case_id, sha256.lower())
    bodies = request.app.state.bodies
    if row is None or bodies.info(sha256.lower()) is None:
        return not_found(request, sha256)
    record_view(request, user, case_id, f"document:{sha256.lower()}")
    media_type, document_id = row.media_type, row.document_id
    ext = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
    name = f"{document_id}{ext.get(media_type, '')}"
    return FileResponse(
        bodies.path(sha256.lower()),
        media_type=media_type,
        filename=name,
        content_disposition_type="attachment" if download else "inline",
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'none'; frame-ancestors 'self'; sandbox",
        },
    )


AUDIT_CSV_MAX = 100_000


def _local_day_bound(value: str, time_zone: str, end: bool = False) -> str:
    """A YYYY-MM-DD typed in the hub's default zone as a UTC bound like viewed_at's."""
    from datetime import UTC, date, datetime, time, timedelta

    try:
        d = date.fromisoformat(value.strip()) + timedelta(days=1 if end else 0)
    except ValueError:
        return ""
    moment = datetime.combine(d, time(), zone(time_zone)).astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.000000Z"


class _AuditQuery(TypedDict):
    case_id: str
    viewer: str
    since: str
    until: str


def _audit_query(case: str, viewer: str, since: str, until: str) -> _AuditQuery:
    return {
        "case_id": case.strip(),
        "viewer": viewer.strip(),
        "since": _local_day_bound(since, DEFAULT_TIME_ZONE),
        "until": _local_day_bound(until, DEFAULT_TIME_ZONE, end=True),
    }


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    user: OpsUser,
    case: str = "",
    viewer: str = "",
    since: str = "",
    until: str = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    views = audit_log(request).list(
        **_audit_query(case, viewer, since, until), limit=100, offset=(page - 1) * 100
    )
    form = {"case": case, "viewer": viewer, "since": since, "until": until}
    return render(
        request,
        "audit.html",
        views=views,
        q=form,
        page=page,
        qs=urlencode({k: v for k, v in form.items() if v}),
    )


@router.get("/audit.csv")
def audit_csv(
    request: Request,
    user: OpsUser,
    case: str = "",
    viewer: str = "",
    since: str = "",
    until: str = "",
) -> Response:
    """The filtered audit as CSV (UTC and local time), newest first, at most 100,000 rows."""
    views = audit_log(request).list(**_audit_query(case, viewer, since, until), limit=AUDIT_CSV_MAX)
    local = Local("es")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["viewed_at_utc", "viewed_at_local", "viewer", "role", "case_id", "what", "client"]
    )
    for v in views:
        writer.writerow(
            [
                v.viewed_at,
                local.when(v.viewed_at, seconds=True),
                v.viewer,
                v.role,
                v.case_id,
                v.what,
                v.client,
            ]
        )
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="puente-audit.csv"',
            "Cache-Control": "no-store",
        },
    )
