"""Clinician console pages: the cases list, the case page, document bodies; the view audit (ops).

Every case page, live view and document opened is written to the audit log
(``case_views``) before the response is sent.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from hub.ingest.timefmt import now_iso
from hub.storage.case_views import SQLiteCaseViews
from hub.storage.console_facts import DEFAULT_TIME_ZONE, ConsoleFacts, fold
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


def audit_log(request: Request) -> SQLiteCaseViews:
    log = getattr(request.app.state, "case_views", None)
    if log is None:
        log = SQLiteCaseViews(request.app.state.store)
        request.app.state.case_views = log
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
    where, args = ["1 = 1"], []
    if patient.strip():
        # An affiliation number exactly, or a part of the patient's name (case and accents
        # ignored): "perez" finds "José Pérez".
        where.append(
            "(patient_id = ? OR case_id IN "
            "(SELECT case_id FROM case_patients WHERE instr(name_folded, ?) > 0))"
        )
        args += [patient.strip(), fold(patient)]
    if unit.strip():
        where.append("unit_id = ?")
        args.append(unit.strip())
    if (a := _day(since)) is not None:
        where.append("opened_at >= ?")
        args.append(a)
    if (b := _day(until, end=True)) is not None:
        where.append("opened_at < ?")
        args.append(b)
    conn = request.app.state.store._conn()
    sql = f"FROM cases WHERE {' AND '.join(where)}"
    if missing or unsigned:
        # The flags need each matching case's confirmations and documents: compute, then page.
        ids = [r[0] for r in conn.execute(f"SELECT case_id {sql} ORDER BY opened_at DESC", args)]
        keep = set(ids)
        if missing:
            keep &= case_data.missing_confirmation(request, ids)
        if unsigned:
            keep &= case_data.unsigned_document(request, ids)
        ids = [i for i in ids if i in keep]
        total = len(ids)
        page_ids = ids[(page - 1) * PER_PAGE : page * PER_PAGE]
    else:
        total = conn.execute(f"SELECT count(*) {sql}", args).fetchone()[0]
        page_ids = [
            r[0]
            for r in conn.execute(
                f"SELECT case_id {sql} ORDER BY opened_at DESC, case_id DESC LIMIT ? OFFSET ?",
                [*args, PER_PAGE, (page - 1) * PER_PAGE],
            )
        ]
    rows = _case_rows(request, page_ids)
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


def _case_rows(request: Request, ids: list[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    conn = request.app.state.store._conn()
    marks = ",".join("?" * len(ids))
    cases = {
        r[0]: r
        for r in conn.execute(
            "SELECT case_id, patient_id, unit_id, opened_at, closed_at FROM cases "
            f"WHERE case_id IN ({marks})",
            ids,
        )
    }
    events = dict(
        conn.execute(
            f"SELECT case_id, count(*) FROM events WHERE case_id IN ({marks}) GROUP BY case_id",
            ids,
        ).fetchall()
    )
    docs = dict(
        conn.execute(
            "SELECT case_id, count(DISTINCT document_id) FROM documents "
            f"WHERE case_id IN ({marks}) GROUP BY case_id",
            ids,
        ).fetchall()
    )
    missing = case_data.missing_confirmation(request, ids)
    unsigned = case_data.unsigned_document(request, ids)
    zones = console_facts(request).time_zones()
    patients = console_facts(request).patients(ids)
    return [
        {
            "case_id": i,
            "patient_id": cases[i][1],
            "unit_id": cases[i][2],
            "tz": zones.get(cases[i][2], ""),
            "patient": patients.get(i),
            "opened_at": cases[i][3],
            "closed_at": cases[i][4],
            "events": events.get(i, 0),
            "documents": docs.get(i, 0),
            "missing": i in missing,
            "unsigned": i in unsigned,
        }
        for i in ids
    ]


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    request: Request, case_id: str, user: ClinicianUser, before: str | None = None
) -> HTMLResponse:
    case = request.app.state.store.get_case(case_id)
    if case is None:
        return not_found(request, case_id)
    record_view(request, user, case_id, "case")
    data = case_data.case_page(request, case, before)
    lang = pick(request.headers.get("accept-language"), request.state.session.lang)
    local = Local(lang)
    charts_json = json.dumps(
        [
            {k: c[k] for k in ("parameter", "es", "en", "low", "high", "t", "v")}
            | {
                "unit": local.unit(c["parameter"], c["unit"]),
                "decimals": VALUE_FORMAT.get(c["parameter"], (1, "", ""))[0],
            }
            for c in data.charts
        ],
        separators=(",", ":"),
    ).replace("</", "<\\/")
    response = render(
        request,
        "case.html",
        time_zone=console_facts(request).time_zone(case.unit_id),
        patient=console_facts(request).patient(case_id),
        d=data,
        charts_json=charts_json,
        detail=case_data.event_detail,
        before=before,
    )
    response.headers["Content-Security-Policy"] = CSP_WITH_SCRIPTS
    return response


@router.get("/cases/{case_id}/documents/{sha256}")
def document_body(
    request: Request, case_id: str, sha256: str, user: ClinicianUser, download: bool = False
) -> Response:
    """A document body of this case, served from the hub's body store (view or download)."""
    row = (
        request.app.state.store._conn()
        .execute(
            "SELECT media_type, title, document_id FROM documents WHERE case_id = ? AND sha256 = ?",
            (case_id, sha256.lower()),
        )
        .fetchone()
    )
    bodies = request.app.state.bodies
    if row is None or bodies.info(sha256.lower()) is None:
        return not_found(request, sha256)
    record_view(request, user, case_id, f"document:{sha256.lower()}")
    media_type, _title, document_id = row
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


def _audit_query(case: str, viewer: str, since: str, until: str) -> dict[str, str]:
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
