"""Settings of vital-sign attribution: which readings may reach a case, and the inbox's size."""

from __future__ import annotations

from pydantic import BaseModel, Field


class VitalsSettings(BaseModel):
    """``[vitals]`` in the agent's TOML (``PUENTE_AGENT_VITALS__*`` in the environment).

    See docs/vitals.md ("Attribution") for the rules these numbers feed.
    """

    start_tolerance_s: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description=(
            "A reading measured up to this long before a take or stream started still belongs "
            "to it (monitor and station clocks differ by a few seconds); earlier readings go to "
            "the unassigned-readings inbox. Also how far in the future (station clock) a "
            "measurement time may lie."
        ),
    )
    max_age_s: float = Field(
        default=300.0,
        gt=0,
        le=86400,
        description=(
            "A reading measured longer ago than this when it reaches the station is never "
            "attached on its own: it goes to the inbox flagged 'stale'."
        ),
    )
    inbox_max_per_device: int = Field(
        default=500,
        ge=10,
        le=100_000,
        description=(
            "Pending inbox entries kept per device; past it the oldest are dropped, counted "
            "and written to the audit log (a monitor left streaming with no take fills it)."
        ),
    )
    inbox_sweep_s: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="How often readings that arrive while no take or stream runs are collected.",
    )
