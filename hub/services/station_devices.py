"""What ops registered at a station beside what its agent reports running, and where they differ.

One rule for the fleet page and the station page: a device is *registered but not seen*
when the agent's last device list lacks it, *seen but not registered* when the agent runs
a device ops never registered, *wrong driver* when both have it under different drivers,
and *not connected* (with since when) when the agent sees it in any state but connected.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hub.storage.registry import ReportedDevices
from provisioning.registry import Device

# Findings, in the order a person should read them.
NOT_REPORTED = "not_reported"  # the station has never sent its device list
REGISTERED_NOT_SEEN = "registered_not_seen"
SEEN_NOT_REGISTERED = "seen_not_registered"
WRONG_DRIVER = "wrong_driver"
NOT_CONNECTED = "not_connected"
OK = "ok"


@dataclass(frozen=True)
class DeviceRow:
    device_id: str
    registered: Device | None
    seen: dict[str, Any] | None
    finding: str
    extra: tuple[str, ...] = ()  # a second finding (wrong driver and not connected)

    @property
    def findings(self) -> tuple[str, ...]:
        return (self.finding, *self.extra)


@dataclass(frozen=True)
class DeviceSummary:
    registered: int
    seen: int
    connected: int
    mismatches: int
    reported: bool  # False: the station never sent its device list (e.g. an older agent)


def compare(registered: Iterable[Device], reported: ReportedDevices | None) -> list[DeviceRow]:
    """One row per device id found on either side, registered ones first."""
    mine = {d.device_id: d for d in registered}
    seen = {str(d.get("device_id", "")): d for d in (reported.devices if reported else ())}
    rows: list[DeviceRow] = []
    for device_id, device in mine.items():
        theirs = seen.get(device_id)
        if reported is None:
            rows.append(DeviceRow(device_id, device, None, NOT_REPORTED))
        elif theirs is None:
            rows.append(DeviceRow(device_id, device, None, REGISTERED_NOT_SEEN))
        else:
            findings = []
            if theirs.get("driver") != device.driver:
                findings.append(WRONG_DRIVER)
            if theirs.get("state") != "connected":
                findings.append(NOT_CONNECTED)
            first, *rest = findings or [OK]
            rows.append(DeviceRow(device_id, device, theirs, first, tuple(rest)))
    for device_id, theirs in seen.items():
        if device_id not in mine:
            extra = (NOT_CONNECTED,) if theirs.get("state") != "connected" else ()
            rows.append(DeviceRow(device_id, None, theirs, SEEN_NOT_REGISTERED, extra))
    return rows


def summary(rows: list[DeviceRow], reported: ReportedDevices | None) -> DeviceSummary:
    return DeviceSummary(
        registered=sum(1 for r in rows if r.registered is not None),
        seen=sum(1 for r in rows if r.seen is not None),
        connected=sum(1 for r in rows if r.seen is not None and r.seen.get("state") == "connected"),
        mismatches=sum(1 for r in rows if r.finding not in (OK, NOT_REPORTED)),
        reported=reported is not None,
    )
