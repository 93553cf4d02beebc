"""Registered devices beside the ones a station reports: each mismatch has a name."""

from __future__ import annotations

from hub.services import station_devices as sd
from hub.storage.registry import ReportedDevices
from provisioning.registry import Device


def _seen(device_id: str, driver: str, state: str = "connected") -> dict[str, str]:
    return {
        "device_id": device_id,
        "driver": driver,
        "state": state,
        "since": "2026-01-01T10:00:00",
    }


def test_each_kind_of_mismatch_is_found() -> None:
    registered = [
        Device("ok-1", "st-1", "vitals", "nonin.format2"),
        Device("gone-1", "st-1", "scanner", "escl"),
        Device("wrong-1", "st-1", "vitals", "nonin.format2"),
        Device("off-1", "st-1", "token", "pkcs11"),
    ]
    reported = ReportedDevices(
        (
            _seen("ok-1", "nonin.format2"),
            _seen("wrong-1", "nonin.ascii", "error"),
            _seen("off-1", "pkcs11", "disconnected"),
            _seen("extra-1", "sane"),
        ),
        "2026-01-01T10:00:05",
    )
    rows = {r.device_id: r for r in sd.compare(registered, reported)}
    assert {k: r.findings for k, r in rows.items()} == {
        "ok-1": (sd.OK,),
        "gone-1": (sd.REGISTERED_NOT_SEEN,),
        "wrong-1": (sd.WRONG_DRIVER, sd.NOT_CONNECTED),
        "off-1": (sd.NOT_CONNECTED,),
        "extra-1": (sd.SEEN_NOT_REGISTERED,),
    }
    summary = sd.summary(list(rows.values()), reported)
    assert (summary.registered, summary.seen, summary.connected, summary.mismatches) == (4, 4, 2, 4)


def test_a_station_that_never_reported_is_not_a_list_of_mismatches() -> None:
    rows = sd.compare([Device("m-1", "st-1", "vitals", "nonin.ascii")], None)
    assert [r.finding for r in rows] == [sd.NOT_REPORTED]
    summary = sd.summary(rows, None)
    assert (summary.registered, summary.seen, summary.mismatches, summary.reported) == (
        1,
        0,
        0,
        False,
    )


def test_devices_seen_without_any_registered_are_counted() -> None:
    """The fleet page said "Dispositivos 0" for a station running three devices."""
    reported = ReportedDevices(
        (_seen("a", "sim.monitor"), _seen("b", "sim.fingerprint"), _seen("c", "sane")), "t"
    )
    summary = sd.summary(sd.compare([], reported), reported)
    assert (summary.seen, summary.connected, summary.registered, summary.mismatches) == (3, 3, 0, 3)
