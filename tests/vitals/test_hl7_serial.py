"""PCD-01 ORU^R01 in MLLP framing over a serial line (a real pty): readings, ACKs, bad frames."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import hl7
import pytest

from drivers.vitals.base import NumericReading
from drivers.vitals.hl7_pcd01 import SerialHl7Monitor, frame
from drivers.vitals.ptysim import PtyPort
from edge_agent.capabilities.vitals.mapping import map_readings

FIXTURES = Path(__file__).parent / "fixtures"
IHE_BP = (FIXTURES / "pcd01_bp_ihe_tf2.hl7").read_text()
MINDRAY = (FIXTURES / "pcd01_spo2_nibp_mindray_vs900.hl7").read_text()


@pytest.fixture
def port(tmp_path: Path) -> Iterator[PtyPort]:
    p = PtyPort(tmp_path / "ttyHL7")
    yield p
    p.stop()


@pytest.fixture
def monitor(port: PtyPort) -> Iterator[SerialHl7Monitor]:
    m = SerialHl7Monitor(str(port.link), baudrate=19200, parity="N", serial_number="GW-7")
    m.open()  # open before the device writes
    yield m
    m.close()


def collect(monitor: SerialHl7Monitor, n: int, timeout_s: float = 10.0) -> list[NumericReading]:
    out: list[NumericReading] = []
    for r in monitor.numerics(timeout_s):
        out.append(r)
        if len(out) >= n:
            break
    return out


def acks(port: PtyPort, n: int, timeout_s: float = 5.0) -> list[hl7.Message]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        blocks = [b for b in bytes(port.received).split(b"\x1c\r") if b.strip()]
        if len(blocks) >= n:
            return [hl7.parse(b.lstrip(b"\x0b").decode()) for b in blocks]
        time.sleep(0.05)
    raise AssertionError(f"expected {n} ACKs, got {bytes(port.received)!r}")


def test_ihe_bp_sample_over_serial_is_read_and_acked_on_the_line(
    port: PtyPort, monitor: SerialHl7Monitor
) -> None:
    assert monitor.baudrate == 19200
    data = frame(IHE_BP)
    port.write(data[:200])  # a serial line delivers a message in pieces
    time.sleep(0.1)
    port.write(data[200:])
    accepted, rejected = map_readings(collect(monitor, 3))
    assert [(r.mdc_code, r.value, r.unit) for r in accepted] == [
        (150021, 120.0, "mm[Hg]"),
        (150022, 80.0, "mm[Hg]"),
        (150023, 100.0, "mm[Hg]"),
    ]
    assert rejected == []
    [ack] = acks(port, 1)
    assert (str(ack.segment("MSA")[1]), str(ack.segment("MSA")[2])) == ("AA", "MSGID1234")
    identity = monitor.identify()
    assert (identity.eui64, identity.serial) == ("ACDE48234567ABCD", "GW-7")


def test_a_frame_cut_short_is_counted_and_the_next_message_is_read(
    port: PtyPort, monitor: SerialHl7Monitor
) -> None:
    port.write(frame(IHE_BP)[:150])  # the device restarted mid-message: no <FS><CR>
    port.write(frame(MINDRAY.replace("\r", "\n")))  # LF line endings, normalised
    got = collect(monitor, 7)
    assert [(r.mdc_code, r.value) for r in got] == [
        (150456, 99.0),
        (149530, 94.0),
        (150488, 0.94),
        (150301, 147.0),
        (150303, 109.0),
        (150302, 90.0),
        (188496, 35.1),
    ]
    assert monitor.receiver.errors == 1
    assert monitor.receiver.accepted == 1
    [ack] = acks(port, 1)
    assert str(ack.segment("MSA")[2]) == "1914"


def test_a_message_that_is_not_an_oru_gets_ar_on_the_line(
    port: PtyPort, monitor: SerialHl7Monitor
) -> None:
    port.write(frame("MSH|^~\\&|X||||20240101000000||ADT^A01|Q9|P|2.6\rPID|||1\r"))
    port.write(frame(IHE_BP))
    assert len(collect(monitor, 3)) == 3
    first, second = acks(port, 2)
    assert [str(first.segment("MSA")[1]), str(first.segment("MSA")[2])] == ["AR", "Q9"]
    assert str(second.segment("MSA")[1]) == "AA"


def test_unreadable_rows_over_serial_get_an_ae_with_located_errs_and_pending_reads_them(
    port: PtyPort, monitor: SerialHl7Monitor
) -> None:
    from edge_agent.capabilities.vitals.attribution import review

    monitor.set_review(review, "PUENTE", "coex-1")
    # The Mindray message (OBX 7: MDC_TEMP_AXIL, not in the code table) with OBX 1 made
    # unreadable; written while nobody reads: pending() takes what the port holds.
    bad = MINDRAY.replace("|99|262688", "|9x|262688")
    port.write(frame(bad))
    time.sleep(0.3)
    readings = monitor.pending()
    assert len(readings) == 7
    [ack] = acks(port, 1)
    assert str(ack.segment("MSA")(1)) == "AE"
    assert str(ack.segment("MSH")(4)) == "coex-1"
    assert str(ack.segment("MSH")(5)) == "MINDRAY_VS900^00A0370098007A80^EUI-64"
    assert [(str(e(2)), str(e.extract_field(1, 3, 1, 1))) for e in ack.segments("ERR")] == [
        ("OBX^1^5", "102"),
        ("OBX^7^3", "103"),
    ]
    accepted, rejected = map_readings(readings)
    assert [(x.reason_code, x.raw_value) for x in rejected] == [
        ("not_a_number", "9x"),
        ("unknown_code", ""),
    ]
    assert len(accepted) == 5
