"""Nonin data format #2 over a real pty: checksummed frames, a garbled checksum, sensor states."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.vitals import nonin_binary as nb
from drivers.vitals.base import NumericReading
from drivers.vitals.ptysim import PtyPort
from drivers.vitals.simulators import nonin_binary as nonin_binary_sim


@pytest.fixture
def port(tmp_path: Path) -> Iterator[PtyPort]:
    p = PtyPort(tmp_path / "ttyNONIN")
    yield p
    p.stop()


@pytest.fixture
def monitor(port: PtyPort) -> Iterator[nb.NoninFormat2Monitor]:
    m = nb.NoninFormat2Monitor(str(port.link))
    m.open()
    m.decoder = nb.Format2Decoder(every_s=0.0)  # every packet, not one a second
    yield m
    m.close()


def collect(monitor: nb.NoninFormat2Monitor, n: int) -> list[NumericReading]:
    out: list[NumericReading] = []
    for r in monitor.numerics(10):
        out.append(r)
        if len(out) >= n:
            break
    return out


def values(readings: list[NumericReading]) -> list[tuple[int, float, tuple[str, ...]]]:
    return [(r.mdc_code, r.value, r.flags) for r in readings]


def test_packet_bytes_are_what_the_format_says() -> None:
    packet = nonin_binary_sim.encode_packet(97, 300)
    assert len(packet) == 125  # 25 frames of 5 bytes
    first, second, third = packet[0:5], packet[5:10], packet[10:15]
    assert first[0] == 0x01 and first[1] == 0x80 | nb.GREEN_PERFUSION | nb.SYNC
    assert second[1] & nb.SYNC == 0
    assert first[4] == (first[0] + first[1] + first[2] + first[3]) % 256
    # HR 300 = 0b1_0010_1100: bits 8-7 in frame 1, bits 6-0 in frame 2; SpO2 in frame 3.
    assert (first[3], second[3], third[3]) == (0b10, 0b0101100, 97)


def test_readings_flow_and_hr_above_255_uses_the_msb_frame(
    port: PtyPort, monitor: nb.NoninFormat2Monitor
) -> None:
    assert monitor.baudrate == 9600
    port.write(nonin_binary_sim.encode_packet(97, 72))
    port.write(nonin_binary_sim.encode_packet(93, 300, status=nb.RED_PERFUSION | nb.ARTF))
    assert values(collect(monitor, 4)) == [
        (150456, 97.0, ()),
        (149530, 72.0, ()),
        (150456, 93.0, ("questionable",)),
        (149530, 300.0, ("questionable",)),
    ]


def test_a_garbled_checksum_drops_the_frame_and_its_packet_and_the_stream_goes_on(
    port: PtyPort, monitor: nb.NoninFormat2Monitor
) -> None:
    garbled = bytearray(nonin_binary_sim.encode_packet(88, 110))
    garbled[3 * 5 + 4] ^= 0x5A  # frame 4's checksum byte, flipped on the wire
    port.write(nonin_binary_sim.encode_packet(96, 70))
    port.write(bytes(garbled))
    port.write(nonin_binary_sim.encode_packet(95, 68))
    got = collect(monitor, 4)
    decoder = monitor.decoder
    assert isinstance(decoder, nb.Format2Decoder)
    assert values(got) == [
        (150456, 96.0, ()),
        (149530, 70.0, ()),
        (150456, 95.0, ()),
        (149530, 68.0, ()),
    ]
    assert (decoder.frame_errors, decoder.packets_dropped, decoder.packets) == (1, 1, 2)


def test_a_truncated_packet_and_stray_bytes_resynchronise(
    port: PtyPort, monitor: nb.NoninFormat2Monitor
) -> None:
    port.write(bytes([0x33, 0x7F]))  # line noise before anything
    # 12 frames, then the oximeter restarted
    port.write(nonin_binary_sim.encode_packet(99, 61)[:60])
    port.write(nonin_binary_sim.encode_packet(98, 62))
    got = collect(monitor, 2)
    decoder = monitor.decoder
    assert isinstance(decoder, nb.Format2Decoder)
    assert values(got) == [(150456, 98.0, ()), (149530, 62.0, ())]
    assert (decoder.resync_bytes, decoder.packets_dropped, decoder.frame_errors) == (2, 1, 0)


def test_sensor_off_and_missing_values_give_no_reading(
    port: PtyPort, monitor: nb.NoninFormat2Monitor
) -> None:
    port.write(nonin_binary_sim.encode_packet(97, 72, status=nb.SNSD))  # sensor disconnected
    port.write(nonin_binary_sim.encode_packet(None, None))  # searching: SpO2 127, HR 511
    port.write(nonin_binary_sim.encode_packet(None, 80))
    assert values(collect(monitor, 1)) == [(149530, 80.0, ())]


def test_one_reading_per_second_at_75_frames_a_second() -> None:
    from datetime import UTC, datetime, timedelta

    clock = [datetime(2026, 1, 1, tzinfo=UTC)]
    decoder = nb.Format2Decoder(every_s=1.0, now=lambda: clock[0])
    out = []
    for i in range(6):  # 2 s of packets, 3 a second
        out += decoder.feed(nonin_binary_sim.encode_packet(96, 70 + i))
        clock[0] += timedelta(microseconds=333_334)
    assert [(r.mdc_code, r.value) for r in out] == [
        (150456, 96.0),
        (149530, 70.0),
        (150456, 96.0),
        (149530, 73.0),
    ]
