"""Device actions under way (who asked, for which case), listed and refused on the agent's page."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from edge_agent.api.deps import services
from edge_agent.capabilities.activity.service import ActivityBoard
from edge_agent.capabilities.pairing.http import own_origin

router = APIRouter(tags=["activity"])


def activity_board(request: Request) -> ActivityBoard:
    return services(request).activity


@router.get("/v1/activity", dependencies=[Depends(own_origin)])
def list_activity(
    board: ActivityBoard = Depends(activity_board),
) -> dict[str, list[dict[str, object]]]:
    return board.snapshot()


@router.post("/v1/activity/{activity_id}/refuse", dependencies=[Depends(own_origin)])
def refuse_activity(
    activity_id: str, request: Request, board: ActivityBoard = Depends(activity_board)
) -> dict[str, object]:
    refused = board.refuse(activity_id)
    services(request).audit.record("action_refused_at_station", activity_id=activity_id)
    return {"activity_id": activity_id, "refused": refused}
