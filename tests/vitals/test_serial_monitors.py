"""Serial monitors over real pty pairs: Masimo ASCII 1, Nonin ASCII, Contec CMS50D+ bytes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.base import Health
from drivers.vitals import contec_cms50d, masimo, nonin
from drivers.vitals.base import NumericReading, PortVanished
from drivers.vitals.ptysim import PtyPort
from drivers.vitals.serialport import SerialMonitor
from drivers.vitals.simulators import contec_cms50d as contec_cms50d_sim
from drivers.vitals.simulators import masimo as masimo_sim
from drivers.vitals.simulators import nonin as nonin_sim


@pytest.fixture
def port(tmp_path: Path) -> Iterator[PtyPort]:
    p = PtyPort(tmp_path / "ttyMONITOR")
    yield p
    p.stop()


def collect(monitor: SerialMonitor, n: int, timeout_s: float = 10.0) -> list[NumericReading]:
    out: list[NumericReading] = []
    for r in monitor.numerics(timeout_s):
        out.append(r)
        if len(out) >= n:
            break
    return out


def values(readings: list[NumericReading]) -> list[tuple[int, float, str, tuple[str, ...]]]:
    return [(r.mdc_code, r.value, r.unit, r.flags) for r in readings]


def test_masimo_ascii1_lines_become_spo2_pulse_and_pi(port: PtyPort) -> None:
    monitor = masimo.MasimoMonitor(str(port.link))
    monitor.open()  # the port is open before the simulator writes
    try:
        port.write(masimo_sim.encode_line(98, 72, 3.45))
        port.write(masimo_sim.encode_line(None, None, None))  # dashes: no numerics at all
        port.write(masimo_sim.encode_line(91, 118, 0.2, alarm=0x0001, exc=masimo.EXC_LOW_PERFUSION))
        got = collect(monitor, 6)
    finally:
        monitor.close()
    assert values(got) == [
        (150456, 98.0, "%", ()),
        (149530, 72.0, "/min", ()),
        (150488, 3.45, "%", ()),
        (150456, 91.0, "%", ("questionable", "alarm")),
        (149530, 118.0, "/min", ("questionable", "alarm")),
        (150488, 0.2, "%", ("questionable", "alarm")),
    ]


def test_masimo_sensor_off_gives_no_reading_and_a_split_line_is_joined(port: PtyPort) -> None:
    monitor = masimo.MasimoMonitor(str(port.link))
    monitor.open()
    try:
        port.write(masimo_sim.encode_line(97, 70, exc=masimo.EXC_SENSOR_OFF))
        line = masimo_sim.encode_line(96, 65, None)
        port.write(line[:20])
        time.sleep(0.2)
        port.write(line[20:])
        got = collect(monitor, 2)
    finally:
        monitor.close()
    assert values(got) == [(150456, 96.0, "%", ()), (149530, 65.0, "/min", ())]


def test_nonin_ascii_with_dashes_for_no_reading(port: PtyPort) -> None:
    monitor = nonin.NoninMonitor(str(port.link))
    monitor.open()
    try:
        port.write(b"SPO2=--- HR=---\r\n")
        port.write(nonin_sim.encode_line(97, None))
        port.write(nonin_sim.encode_line(95, 61))
        got = collect(monitor, 3)
    finally:
        monitor.close()
    assert values(got) == [
        (150456, 97.0, "%", ()),
        (150456, 95.0, "%", ()),
        (149530, 61.0, "/min", ()),
    ]


def test_cms50d_packets_at_19200_and_a_garbled_packet_is_skipped(port: PtyPort) -> None:
    monitor = contec_cms50d.Cms50dMonitor(str(port.link))
    assert monitor.baudrate == 19200
    monitor.decoder = contec_cms50d.PacketDecoder(every_s=0.0)
    monitor.open()
    monitor.decoder = contec_cms50d.PacketDecoder(every_s=0.0)
    try:
        good = contec_cms50d_sim.encode_packet(97, 150)  # pulse > 127 uses the high bit in byte 3
        port.write(good[:3])  # a packet cut short: the next sync byte starts over
        port.write(contec_cms50d_sim.encode_packet(None, None, finger_out=True))
        port.write(bytes([0x12, 0x34]))  # stray bytes with no sync
        port.write(good)
        port.write(contec_cms50d_sim.encode_packet(94, 80))
        got = collect(monitor, 4)
        errors = monitor.decoder.frame_errors  # type: ignore[attr-defined]
    finally:
        monitor.close()
    assert values(got) == [
        (150456, 97.0, "%", ()),
        (149530, 150.0, "/min", ()),
        (150456, 94.0, "%", ()),
        (149530, 80.0, "/min", ()),
    ]
    assert errors == 3  # the cut packet, then two stray bytes


def test_cable_pulled_mid_stream_is_reported_and_the_driver_reconnects(port: PtyPort) -> None:
    monitor = nonin.NoninMonitor(str(port.link))
    monitor.open()
    try:
        port.write(nonin_sim.encode_line(96, 70))
        assert values(collect(monitor, 2)) == [(150456, 96.0, "%", ()), (149530, 70.0, "/min", ())]
        port.unplug()
        with pytest.raises(PortVanished) as caught:
            collect(monitor, 1, timeout_s=5)
        assert caught.value.code == "port_vanished"
        health = monitor.health()
        assert (health.health, health.error_code) == (Health.DISCONNECTED, "port_vanished")
        port.replug()
        assert monitor.health().health == Health.CONNECTED
        port.write(nonin_sim.encode_line(98, 66))
        assert values(collect(monitor, 2)) == [(150456, 98.0, "%", ()), (149530, 66.0, "/min", ())]
    finally:
        monitor.close()
