"""Settings of pharmacy dispensing at the station (``[pharmacy]`` in the agent's TOML)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PharmacySettings(BaseModel):
    catalogue_refresh_s: float = Field(
        default=3600.0,
        ge=10,
        le=7 * 86400,
        description="How often the station asks the hub for the medicine catalogue (it keeps "
        "the last copy it got, so dispensing works offline). Needs hub_url.",
    )
