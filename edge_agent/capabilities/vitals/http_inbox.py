"""Unassigned readings over HTTP: list them (any admitted caller), assign or discard (own page).

Assigning and discarding are decisions of a person at the station: they answer only the
agent's own page (``/ui/pairing``) or a local program that sends no Origin, name the person,
and are audited. A web page on another origin may list entries but not decide on them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from edge_agent.api.deps import services
from edge_agent.capabilities.pairing.http import own_origin
from edge_agent.capabilities.vitals.inbox import InboxEntry, VitalsInbox

router = APIRouter(tags=["vitals"])


def inbox_service(request: Request) -> VitalsInbox:
    return services(request).inbox


class AssignIn(BaseModel):
    case_id: str = Field(min_length=1, max_length=128)
    patient_id: str = Field(min_length=1, max_length=128)
    assigned_by: str = Field(min_length=1, max_length=80, description="Who decides (a person).")
    note: str = Field(default="", max_length=500)


class DiscardIn(BaseModel):
    discarded_by: str = Field(min_length=1, max_length=80, description="Who decides.")
    note: str = Field(default="", max_length=500)


def entry_json(e: InboxEntry) -> dict[str, Any]:
    return {
        "entry_id": e.entry_id,
        "device_id": e.device_id,
        "state": e.state,
        "reason_code": e.reason_code,
        "reason": e.reason,
        "received_at": e.received_at,
        "message_id": e.message_id or None,
        "patient_ids": e.patient_ids,
        "patient_name": e.patient_name or None,
        "readings": e.readings,
        "monitor": e.monitor,
        "decided_by": e.decided_by or None,
        "decided_at": e.decided_at or None,
        "case_id": e.case_id or None,
        "event_id": e.event_id or None,
        "note": e.note or None,
    }


@router.get("/v1/vitals/inbox")
async def list_inbox(
    request: Request,
    device_id: str | None = None,
    state: str = "pending",
    limit: int = 200,
    inbox: VitalsInbox = Depends(inbox_service),
) -> dict[str, Any]:
    """Entries per device, newest first; ``state``: pending, assigned, discarded or all.

    Also the takes and streams running now (``claims``): what readings may reach a case.
    """
    entries = await run_in_threadpool(
        inbox.entries, device_id, None if state == "all" else state, limit
    )
    router = services(request).vitals_router
    claims = [
        {
            "device_id": c.device_id,
            "kind": c.kind,
            "case_id": c.case_id,
            "started_at": c.started_at.isoformat(),
        }
        for c in (router.claims() if router is not None else [])
    ]
    return {
        "entries": [entry_json(e) for e in entries],
        "dropped": inbox.dropped(),
        "claims": claims,
    }


@router.post("/v1/vitals/inbox/{entry_id}/assign", dependencies=[Depends(own_origin)])
async def assign_entry(
    entry_id: int, body: AssignIn, inbox: VitalsInbox = Depends(inbox_service)
) -> dict[str, Any]:
    entry, _event_id, seq = await run_in_threadpool(
        inbox.assign, entry_id, body.case_id, body.patient_id, body.assigned_by, body.note
    )
    return entry_json(entry) | {"station_seq": seq}


@router.post("/v1/vitals/inbox/{entry_id}/discard", dependencies=[Depends(own_origin)])
async def discard_entry(
    entry_id: int, body: DiscardIn, inbox: VitalsInbox = Depends(inbox_service)
) -> dict[str, Any]:
    entry = await run_in_threadpool(inbox.discard, entry_id, body.discarded_by, body.note)
    return entry_json(entry)
