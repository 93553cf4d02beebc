"""The agent's HTTP client to the hub (document bodies, the pharmacy catalogue).

One place for the hub URL, the station's token and the CA bundle. httpx is
imported on the first call: an agent that never talks to the hub over HTTP
never loads it (tests/agent/test_footprint.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edge_agent.settings import AgentSettings

if TYPE_CHECKING:
    import httpx


def hub_client(settings: AgentSettings) -> httpx.Client:
    import httpx

    token = settings.hub_token.get_secret_value() if settings.hub_token else ""
    return httpx.Client(
        base_url=str(settings.hub_url),
        headers={"Authorization": f"Bearer {token}"},
        verify=str(settings.hub_ca_file) if settings.hub_ca_file else True,
        timeout=30,
    )
