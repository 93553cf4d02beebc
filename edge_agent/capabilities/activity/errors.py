"""Errors of the actions board."""

from __future__ import annotations

from edge_agent.errors import AgentError


class RefusedAtStation(AgentError):
    code = "refused_at_station"
    title = "Refused at the station / Rechazado en la estación"
    http_status = 409

    def __init__(self) -> None:
        super().__init__(
            "the user at the station refused this action / "
            "el usuario en la estación rechazó esta acción"
        )
