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
