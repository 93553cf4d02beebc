"""PCD-01 ORU^R01 over a real MLLP connection: public samples, ACKs, bad frames."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import hl7
import pytest

from drivers.vitals.hl7_pcd01 import MllpMonitor, frame
from drivers.vitals.simulators.hl7_pcd01 import SAMPLE_BP_ORU, SAMPLE_SPO2_ORU, make_oru, send_mllp
from edge_agent.capabilities.vitals.mapping import map_readings

FIXTURES = Path(__file__).parent / "fixtures"
IHE_BP = (FIXTURES / "pcd01_bp_ihe_tf2.hl7").read_bytes()  # IHE PCD TF-2 example (see SOURCES.md)
MINDRAY = (FIXTURES / "pcd01_spo2_nibp_mindray_vs900.hl7").read_bytes()  # a real VS-900 message


@pytest.fixture
def listener() -> Iterator[MllpMonitor]:
    monitor = MllpMonitor("127.0.0.1", 0)
    monitor.open()
    yield monitor
    monitor.close()


def drain(monitor: MllpMonitor, n: int) -> list:
    out = []
    for r in monitor.numerics(5):
        out.append(r)
        if len(out) == n:
            break
    return out


def test_ihe_tf_blood_pressure_sample_is_acked_and_normalised(listener: MllpMonitor) -> None:
    # Sent as the file's bytes in one MLLP frame, answered on the same connection.
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as s:
        s.sendall(frame(IHE_BP.decode()))
        ack = s.recv(4096)
    msa = hl7.parse(ack.strip(b"\x0b\x1c\r").decode()).segment("MSA")
    assert (str(msa[1]), str(msa[2])) == ("AA", "MSGID1234")
    readings = drain(listener, 3)
    accepted, rejected = map_readings(readings)
    assert [(r.mdc_code, r.value, r.unit, r.containment) for r in accepted] == [
        (150021, 120.0, "mm[Hg]", "1.0.1.1"),
        (150022, 80.0, "mm[Hg]", "1.0.1.2"),
        (150023, 100.0, "mm[Hg]", "1.0.1.3"),
    ]
    assert rejected == []
    # No OBX-14 on the numerics: OBR-7 20090813095715+0000 is their time.
    assert {r.measured_at.ToJsonString() for r in accepted} == {"2009-08-13T09:57:15Z"}
    # No OBX-18 on the numerics: the sender's EUI-64 (MSH-3) is the equipment.
    assert {r.equipment for r in readings} == {"ACDE48234567ABCD"}
    assert listener.identify().eui64 == "ACDE48234567ABCD"
    # The CWE time-sync row, the two device-level X rows and the DTM clock row are not readings.
    assert listener.receiver.readings.qsize() == 0


def test_mindray_vs900_sample_spo2_nibp_and_an_unknown_code(listener: MllpMonitor) -> None:
    [answer] = send_mllp("127.0.0.1", listener.port, [MINDRAY.decode() + "\r"])
    assert str(hl7.parse(answer).segment("MSA")[1]) == "AA"
    readings = drain(listener, 7)
    accepted, rejected = map_readings(readings)
    assert [(r.mdc_code, r.value, r.unit, r.measured_at.ToJsonString()) for r in accepted] == [
        (150456, 99.0, "%", "2019-12-06T11:34:52Z"),
        (149530, 94.0, "/min", "2019-12-06T11:34:52Z"),
        (150488, 0.94, "%", "2019-12-06T11:34:52Z"),
        (150301, 147.0, "mm[Hg]", "2019-12-06T11:10:16Z"),
        (150303, 109.0, "mm[Hg]", "2019-12-06T11:10:16Z"),
        (150302, 90.0, "mm[Hg]", "2019-12-06T11:10:16Z"),
    ]
    # MDC_TEMP_AXIL (188496) is not in the code table: rejected with its reason, not dropped.
    assert [(x.reading.mdc_code, x.reading.value, x.reason_code) for x in rejected] == [
        (188496, 35.1, "unknown_code")
    ]
    assert readings[0].equipment == "00A0370098007A80"
    assert listener.identify().eui64 == "00A0370098007A80"


def test_samples_with_lf_line_endings_parse_the_same(listener: MllpMonitor) -> None:
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as s:
        s.sendall(frame(IHE_BP.decode().replace("\r", "\n")))
        ack = s.recv(4096)
    assert b"MSA|AA|MSGID1234" in ack
    assert [(r.mdc_code, r.value) for r in drain(listener, 3)] == [
        (150021, 120.0),
        (150022, 80.0),
        (150023, 100.0),
    ]


def test_simulator_messages_still_parse(listener: MllpMonitor) -> None:
    answers = send_mllp("127.0.0.1", listener.port, [SAMPLE_BP_ORU, SAMPLE_SPO2_ORU])
    assert ["MSA|AA|ACME1234" in answers[0], "MSA|AA|MSGID1234" in answers[1]] == [True, True]
    assert [r.mdc_code for r in drain(listener, 6)] == [
        150021,
        150022,
        150023,
        149546,
        150456,
        149530,
    ]


def test_unknown_code_and_spo2_140_are_rejected_with_reasons(listener: MllpMonitor) -> None:
    message = make_oru(
        [
            (150456, "MDC_PULS_OXIM_SAT_O2", 140, "MDC_DIM_PERCENT"),
            (188736, "MDC_MASS_BODY_ACTUAL", 70, "kg"),
            (149530, "MDC_PULS_OXIM_PULS_RATE", 80, "MDC_DIM_PERCENT"),
            (150364, "MDC_TEMP_BODY", 98.6, "MDC_DIM_FAHR"),
        ],
        "C1",
    )
    [answer] = send_mllp("127.0.0.1", listener.port, [message])
    assert "MSA|AA|C1" in answer
    accepted, rejected = map_readings(drain(listener, 4))
    assert [(r.mdc_code, r.value, r.unit) for r in accepted] == [(150364, 37.0, "Cel")]
    assert [(x.reading.mdc_code, x.reading.value, x.reason_code) for x in rejected] == [
        (150456, 140.0, "impossible_value"),
        (188736, 70.0, "unknown_code"),
        (149530, 80.0, "unknown_unit"),
    ]


def test_truncated_frame_is_dropped_and_the_listener_keeps_serving(listener: MllpMonitor) -> None:
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as s:
        s.sendall(frame(SAMPLE_SPO2_ORU)[:120])  # no <FS><CR>: the sender died mid-frame
    deadline = time.monotonic() + 5
    while listener.receiver.errors == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert listener.receiver.errors == 1
    assert listener.receiver.readings.qsize() == 0
    [answer] = send_mllp("127.0.0.1", listener.port, [SAMPLE_SPO2_ORU])
    assert "MSA|AA|MSGID1234" in answer


def test_a_message_that_is_not_an_oru_gets_a_reject_ack(listener: MllpMonitor) -> None:
    adt = "MSH|^~\\&|X||||20240101000000||ADT^A01|Q9|P|2.6\rPID|||1\r"
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as s:
        s.sendall(frame(adt))
        ack = s.recv(4096).decode()
    assert "MSA|AR|Q9" in ack
    assert "ERR|" in ack
