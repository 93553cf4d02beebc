"""The device manager records a DeviceStatus for every change of state, first sight included."""

from __future__ import annotations

from pathlib import Path

from edge_agent.devices import DeviceManager
from edge_agent.outbox import Outbox
from edge_agent.record import RecordService
from edge_agent.settings import AgentSettings, DeviceConfig
from protos import events_pb2


def statuses(box: Outbox) -> list[events_pb2.Event]:
    return [events_pb2.Event.FromString(body) for _, _, body in box.pending(0, 100)]


def test_unplugged_monitor_and_broken_driver_become_device_status_events(tmp_path: Path) -> None:
    settings = AgentSettings(station_id="st-1", unit_id="unit-1", data_dir=tmp_path)
    box = Outbox(settings.outbox_path, limit_bytes=1 << 20, hard_limit_bytes=1 << 21).open()
    manager = DeviceManager(
        [
            DeviceConfig(device_id="monitor-1", driver="sim.monitor", options={"serial": "S-7"}),
            DeviceConfig(device_id="reader-1", driver="no.such.driver"),
        ],
        RecordService(settings, box).record,
        poll_s=60,
    )
    manager.start()
    try:
        first = statuses(box)
        assert [
            (e.device_id, e.device_status.state, e.device_status.previous_state) for e in first
        ] == [
            ("monitor-1", events_pb2.CONNECTED, events_pb2.DEVICE_STATE_UNSPECIFIED),
            ("reader-1", events_pb2.ERROR, events_pb2.DEVICE_STATE_UNSPECIFIED),
        ]
        assert first[0].device_status.family == "vitals"
        assert first[0].device_status.identity.serial == "S-7"
        assert first[0].device_status.identity.driver == "sim.monitor"
        assert first[1].device_status.error_code == "unknown_driver"
        assert "no.such.driver" in first[1].device_status.detail
        assert (first[0].case_id, first[0].patient_id) == ("", "")

        manager.poll_once()  # nothing changed: nothing recorded
        assert box.depth()[0] == 2

        manager.device("monitor-1").unplugged = True  # type: ignore[union-attr]
        manager.poll_once()
        unplugged = statuses(box)[2]
        assert unplugged.device_id == "monitor-1"
        assert unplugged.device_status.state == events_pb2.DISCONNECTED
        assert unplugged.device_status.previous_state == events_pb2.CONNECTED
        assert unplugged.device_status.error_code == "unplugged"
        assert [d.state_name for d in manager.list()] == ["DISCONNECTED", "ERROR"]

        manager.device("monitor-1").unplugged = False  # type: ignore[union-attr]
        manager.poll_once()
        replugged = statuses(box)[3].device_status
        assert (replugged.state, replugged.previous_state) == (
            events_pb2.CONNECTED,
            events_pb2.DISCONNECTED,
        )
    finally:
        manager.stop()
        box.close()


def test_settings_the_catalogue_refuses_never_reach_the_driver_and_the_state_says_why(
    tmp_path: Path,
) -> None:
    """A station's own config (TOML) is checked with the schema ops' registry uses."""
    settings = AgentSettings(station_id="st-1", unit_id="unit-1", data_dir=tmp_path)
    box = Outbox(settings.outbox_path, limit_bytes=1 << 20, hard_limit_bytes=1 << 21).open()
    changes: list[int] = []
    manager = DeviceManager(
        [
            DeviceConfig(
                device_id="oximeter-1",
                driver="nonin.format2",
                options={"port": "/dev/ttyUSB9", "baudrate": 14400},
            ),
            DeviceConfig(device_id="monitor-1", driver="sim.monitor", options={"serial": "S-8"}),
        ],
        RecordService(settings, box).record,
        poll_s=60,
    )
    manager.on_change = lambda: changes.append(1)
    manager.start()
    try:
        refused, fine = manager.list()
        assert (refused.state_name, refused.error_code) == ("ERROR", "invalid_settings")
        assert refused.detail.startswith("'baudrate' 14400 is not supported by driver nonin.")
        assert "9600" in refused.detail and "no es admitido" in refused.detail
        assert manager.device("oximeter-1") is None  # the driver never saw the settings
        assert fine.state_name == "CONNECTED"
        reported = {d.device_id: d for d in manager.reported()}
        assert reported["oximeter-1"].family == "vitals"  # from the catalogue: no driver loaded
        assert reported["oximeter-1"].state == events_pb2.ERROR
        assert reported["monitor-1"].identity.serial == "S-8"
        assert reported["monitor-1"].since.seconds > 0
        assert len(changes) == 2  # each first report asked for a new station state
    finally:
        manager.stop()
