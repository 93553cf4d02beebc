"""Clinician console pages: the cases list, the case page, document bodies; the view audit (ops).

Every case page, live view and document opened is written to the audit log
(``case_views``) before the response is sent.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from hub.ingest.timefmt import now_iso
from hub.services import cases as cases_service
from hub.storage.case_queries import CaseFilter
from hub.storage.case_views import CaseViewLog
from hub.web import case_data
from hub.web import clinical_labels as _labels  # noqa: F401 - registers the labels
from hub.web.auth import WebRole, WebUser
from hub.web.deps import OpsUser, render, require_role

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
    rows = [asdict(r.summary) | {"missing": r.missing, "unsigned": r.unsigned} for r in found]
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
    charts_json = json.dumps(
        [
            {k: c[k] for k in ("parameter", "es", "en", "unit", "low", "high", "t", "v")}
            for c in data.charts
        ],
        separators=(",", ":"),
    ).replace("</", "<\\/")
    response = render(
        request,
        "case.html",
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


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    user: OpsUser,
    case: str = "",
    viewer: str = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    views = audit_log(request).list(
        case_id=case.strip(), viewer=viewer.strip(), limit=100, offset=(page - 1) * 100
    )
    return render(request, "audit.html", views=views, q={"case": case, "viewer": viewer}, page=page)
