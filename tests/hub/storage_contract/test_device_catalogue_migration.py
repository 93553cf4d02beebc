"""Migration 670 on both backends: a registry written with the old device names keeps working
under the catalogue's names, and the devices each station reports are kept newest-first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hub.storage import pg_schema, schema
from provisioning import station_config
from provisioning.errors import ConfigRejected
from provisioning.registry import Device, Station, Unit


def _old_registry(store: Any) -> None:
    reg = store.registry()
    reg.add_unit(Unit("U1", "Zona 1"), "2026-01-01T00:00:00+00:00")
    reg.import_rows(
        [],
        [Station("st-1", "U1")],
        [
            Device("fp-1", "st-1", "fingerprint", "fingerprint.usb", "U.are.U", "FP1"),
            Device("scan-1", "st-1", "scanner", "sim.scanner"),
            Device(
                "scan-2",
                "st-1",
                "scanner",
                "scanner.sane",
                "Fi",
                "SC2",
                options={"device": "fujitsu:fi-7160"},
            ),
            Device(
                "mon-1",
                "st-1",
                "monitor",
                "vitals.serial",
                "BM3",
                "SN1",
                port="/dev/ttyUSB0",
                baud_rate=9600,
                parity="N",
            ),
        ],
        "2026-01-01T00:00:00+00:00",
    )


def test_old_registry_names_are_moved_to_the_catalogue_and_the_unmappable_one_is_named(
    backend: str, make_store: Callable[[], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = [m for m in schema.MIGRATIONS if m[0] != 670]
    pg_before = [m for m in pg_schema.MIGRATIONS if m[0] != 670]
    with monkeypatch.context() as m:
        m.setattr(schema, "MIGRATIONS", before)
        m.setattr(pg_schema, "MIGRATIONS", pg_before)
        old = make_store()
        _old_registry(old)
    store = make_store()  # the current code: migration 670 runs on the old rows
    devices = {d.device_id: d for d in store.registry().devices("st-1")}
    assert {k: (d.device_type, d.driver) for k, d in devices.items()} == {
        "fp-1": ("fingerprint", "usb.fingerprint"),
        "scan-1": ("scanner", "sane"),
        "scan-2": ("scanner", "sane"),
        "mon-1": ("vitals", "vitals.serial"),  # no single driver replaces it
    }
    assert devices["scan-1"].options == {"device": "test:0"}
    assert devices["scan-2"].options == {"device": "fujitsu:fi-7160"}
    # The station's config names the device that still needs a choice, and the candidates.
    with pytest.raises(ConfigRejected) as caught:
        station_config.build(devices.values(), {})
    assert caught.value.code == "invalid_device"
    assert caught.value.field == "devices.mon-1.driver"
    assert "nonin.format2" in caught.value.allowed
    assert caught.value.en.startswith("device mon-1: 'driver' 'vitals.serial' is an old name")
    assert caught.value.es.startswith("dispositivo mon-1: 'driver' 'vitals.serial' es un nombre")
    body = station_config.build([d for k, d in devices.items() if k != "mon-1"], {})
    assert [(d["device_id"], d["driver"]) for d in body["devices"]] == [
        ("fp-1", "usb.fingerprint"),
        ("scan-1", "sane"),
        ("scan-2", "sane"),
    ]


def test_the_newest_reported_device_list_is_kept(store: Any) -> None:
    reg = store.registry()
    seen = [{"device_id": "m-1", "driver": "nonin.format2", "state": "connected"}]
    assert reg.save_reported("st-1", seen, "2026-01-01T00:00:02+00:00", "2026-01-01T00:00:02+00:00")
    older = [{"device_id": "m-1", "driver": "nonin.format2", "state": "disconnected"}]
    assert not reg.save_reported(
        "st-1", older, "2026-01-01T00:00:01+00:00", "2026-01-01T00:00:03+00:00"
    )
    assert reg.save_reported("st-2", [], "2026-01-01T00:00:01+00:00", "2026-01-01T00:00:03+00:00")
    got = reg.reported(["st-1", "st-2", "st-3"])
    assert got["st-1"].devices == tuple(seen)
    assert got["st-2"].devices == ()
    assert "st-3" not in got
    assert reg.reported([]) == {}
