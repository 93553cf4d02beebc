"""Pairing of web origins and the agent's own pages that decide on them; the audit log.

``/v1/pairing/requests`` is what a page on an unknown origin may call. The
rest (list, approve, refuse, revoke, audit) answers only the agent's own
origin — the pages under ``/ui`` — or a local program that sends no Origin.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field

from edge_agent.api.deps import services
from edge_agent.api.security import own_origins
from edge_agent.audit import AuditLog
from edge_agent.capabilities.pairing.errors import (
    LockedOut,
    OwnOriginOnly,
    PairingBusy,
    PairingError,
)
from edge_agent.capabilities.pairing.service import PairingStore
from edge_agent.errors import AgentError

router = APIRouter(tags=["pairing"])

UI_DIR = Path(__file__).resolve().parents[2] / "ui"  # edge_agent/ui
UI_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _pairings(request: Request) -> PairingStore:
    return services(request).pairings


def _audit(request: Request) -> AuditLog:
    return services(request).audit


def own_origin(request: Request, origin: Annotated[str | None, Header()] = None) -> None:
    """Admit the agent's own pages (and local programs, which send no Origin)."""
    server = request.scope.get("server")
    if origin is not None and (not server or origin.rstrip("/") not in own_origins(server[1])):
        raise OwnOriginOnly(
            "only the agent's own page may decide on pairings / "
            "solo la página del agente puede decidir emparejamientos"
        )


class PairingRequestIn(BaseModel):
    app_name: str = Field(default="", max_length=80, description="Shown to the user.")


class PairingRequestOut(BaseModel):
    request_id: str
    code: str
    expires_in_s: int
    approve_at: str


class PairingStateOut(BaseModel):
    request_id: str
    state: str
    token: str | None = None


class PairingStatusOut(BaseModel):
    origin: str | None
    allowed: bool
    paired: bool
    token_valid: bool


@router.get("/v1/pairing/status", response_model=PairingStatusOut)
def pairing_status(
    request: Request,
    origin: Annotated[str | None, Header()] = None,
    x_puente_token: Annotated[str | None, Header()] = None,
) -> PairingStatusOut:
    """Readable by any origin: whether this site may call the agent, or must pair first."""
    store = _pairings(request)
    clean = origin.rstrip("/") if origin else None
    allowed = clean is None or clean in request.app.state.allowed_origins
    paired = clean is not None and store.is_paired(clean)
    return PairingStatusOut(
        origin=clean,
        allowed=allowed,
        paired=paired,
        token_valid=paired and store.check(clean or "", x_puente_token),
    )


@router.post("/v1/pairing/requests", status_code=201, response_model=PairingRequestOut)
def request_pairing(
    body: PairingRequestIn,
    request: Request,
    origin: Annotated[str | None, Header()] = None,
) -> PairingRequestOut:
    """A web page asks to pair; the user compares its code with the agent's page."""
    if origin is None:
        raise PairingError("an Origin is required / se requiere Origin")
    origin = origin.rstrip("/")
    try:
        pending = _pairings(request).request(origin)
    except LockedOut:
        _audit(request).record("pairing_locked_out", origin=origin)
        raise
    except PairingBusy:
        _audit(request).record("pairing_busy", origin=origin)
        raise
    _audit(request).record("pairing_requested", origin=origin, app_name=body.app_name)
    server = request.scope.get("server") or ("127.0.0.1", 0)
    return PairingRequestOut(
        request_id=pending.request_id,
        code=pending.code,
        expires_in_s=int(pending.expires_at - time.monotonic()),
        approve_at=f"http://127.0.0.1:{server[1]}/ui/pairing",
    )


@router.get("/v1/pairing/requests/{request_id}", response_model=PairingStateOut)
def pairing_state(
    request_id: str, request: Request, origin: Annotated[str | None, Header()] = None
) -> PairingStateOut:
    """The page polls; once approved the token is handed over exactly once."""
    state = _pairings(request).poll(request_id, (origin or "").rstrip("/"))
    if state.token:
        _audit(request).record("pairing_token_claimed", origin=state.origin)
    return PairingStateOut(request_id=request_id, state=state.state, token=state.token)


@router.get("/v1/pairings", dependencies=[Depends(own_origin)])
def list_pairings(request: Request) -> dict[str, Any]:
    store = _pairings(request)
    now = time.monotonic()
    return {
        "pending": [
            {
                "request_id": r.request_id,
                "origin": r.origin,
                "code": r.code,
                "expires_in_s": max(0, int(r.expires_at - now)),
            }
            for r in store.pending()
        ],
        "pairings": [vars(p) for p in store.pairings()],
    }


class ApproveIn(BaseModel):
    operator: str | None = Field(
        default=None,
        max_length=64,
        description="Who approves (their operator name); may be left out at a station with "
        "a single operator.",
    )
    operator_pin: str | None = Field(
        default=None, max_length=64, description="That operator's PIN, typed by the person."
    )

    def __repr__(self) -> str:  # never print a PIN
        return f"ApproveIn(operator={self.operator!r}, operator_pin=***)"


def confirm_person(request: Request, pin: str | None, operator: str | None = None) -> str:
    """The operator's own PIN, or refuse: a program that can POST here cannot know it.
    Returns who confirmed."""
    operator_pin = services(request).operator_pin
    return operator_pin.verify(pin, operator)


@router.post("/v1/pairings/requests/{request_id}/approve", dependencies=[Depends(own_origin)])
def approve(request_id: str, request: Request, body: ApproveIn | None = None) -> dict[str, str]:
    pin, operator, body = (
        (body.operator_pin if body else None),
        (body.operator if body else None),
        None,
    )
    try:
        approved_by = confirm_person(request, pin, operator)
    except AgentError as exc:
        _audit(request).record("pairing_approval_refused", request_id=request_id, reason=exc.code)
        raise
    finally:
        pin = None
    decided = _pairings(request).approve(request_id)
    _audit(request).record("pairing_approved", origin=decided.origin, approved_by=approved_by)
    return {"origin": decided.origin, "state": "approved"}


@router.post("/v1/pairings/requests/{request_id}/refuse", dependencies=[Depends(own_origin)])
def refuse(request_id: str, request: Request) -> dict[str, str]:
    decided = _pairings(request).refuse(request_id)
    _audit(request).record("pairing_refused", origin=decided.origin)
    return {"origin": decided.origin, "state": "refused"}


class RevokeIn(BaseModel):
    origin: str


@router.post("/v1/pairings/revoke", dependencies=[Depends(own_origin)])
def revoke(body: RevokeIn, request: Request) -> dict[str, Any]:
    revoked = _pairings(request).revoke(body.origin.rstrip("/"))
    _audit(request).record("pairing_revoked", origin=body.origin, existed=revoked)
    return {"origin": body.origin, "revoked": revoked}


@router.get("/v1/audit", dependencies=[Depends(own_origin)])
def audit_entries(request: Request, limit: int = 100) -> list[dict[str, Any]]:
    return _audit(request).recent(min(max(limit, 1), 500))


@router.get("/ui/pairing", include_in_schema=False)
def pairing_page() -> Response:
    return FileResponse(UI_DIR / "pairing.html", media_type="text/html", headers=UI_HEADERS)


@router.get("/ui/{asset}", include_in_schema=False)
def ui_asset(asset: str) -> Response:
    allowed = {"pairing.js": "text/javascript", "agent.css": "text/css"}
    if asset not in allowed:
        return Response(status_code=404)
    return FileResponse(UI_DIR / asset, media_type=allowed[asset], headers=UI_HEADERS)
