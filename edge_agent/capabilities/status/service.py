"""The station's status: identity, devices, outbox depth and limits, link state."""

from __future__ import annotations

import time
from dataclasses import dataclass

from edge_agent import __version__
from edge_agent.devices import DeviceInfo, DeviceManager
from edge_agent.outbox import Outbox
from edge_agent.settings import AgentSettings
from edge_agent.uplink import LinkState, Uplink


@dataclass(frozen=True)
class OutboxStatus:
    depth: int
    bytes: int
    limit_bytes: int
    hard_limit_bytes: int
    oldest_age_ms: int


@dataclass(frozen=True)
class AgentStatus:
    station_id: str
    unit_id: str
    version: str
    devices: list[DeviceInfo]
    outbox: OutboxStatus
    link: LinkState
    clock_offset_ms: int | None  # hub clock minus station clock; None before the first receipt
    warnings: list[str]  # bilingual sentences: clock off, outbox or disk nearly full


class StatusService:
    def __init__(
        self, settings: AgentSettings, outbox: Outbox, uplink: Uplink, devices: DeviceManager
    ) -> None:
        self.settings = settings
        self.outbox = outbox
        self.uplink = uplink
        self.devices = devices

    def status(self) -> AgentStatus:
        count, size, oldest = self.outbox.depth()
        estimate = self.uplink.clock.current()
        age_ms = int(max(0.0, time.time() - oldest) * 1000) if oldest is not None else 0
        return AgentStatus(
            station_id=self.settings.station_id,
            unit_id=self.settings.unit_id,
            version=__version__,
            devices=self.devices.list(),
            outbox=OutboxStatus(
                depth=count,
                bytes=size,
                limit_bytes=self.settings.outbox_limit_bytes,
                hard_limit_bytes=self.settings.outbox_hard_limit_bytes,
                oldest_age_ms=age_ms,
            ),
            link=self.uplink.state(),
            clock_offset_ms=estimate.offset_ms if estimate else None,
            warnings=self.uplink.warnings(),
        )
