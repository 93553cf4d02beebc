"""GET /metrics: the agent's Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from edge_agent.api.deps import agent_metrics
from edge_agent.metrics import AgentMetrics

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
def metrics(m: AgentMetrics = Depends(agent_metrics)) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest  # first scrape only

    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
