"""Every OBX row the agent cannot read is answered: AE/AR ACKs with one located ERR per problem.

Real MLLP over a loopback socket to the real listener, with the agent's review of readings
installed as the agent installs it; the ACK bytes are parsed back with python-hl7.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import hl7
import pytest

from drivers.vitals.hl7_pcd01 import MllpMonitor, frame
from drivers.vitals.simulators.hl7_pcd01 import make_oru
from edge_agent.capabilities.vitals.attribution import review
from edge_agent.capabilities.vitals.mapping import map_readings

FIXTURES = Path(__file__).parent / "fixtures"
IHE_BP = (FIXTURES / "pcd01_bp_ihe_tf2.hl7").read_text()
MINDRAY = (FIXTURES / "pcd01_spo2_nibp_mindray_vs900.hl7").read_text()


@pytest.fixture
def listener() -> Iterator[MllpMonitor]:
    monitor = MllpMonitor("127.0.0.1", 0)
    monitor.set_review(review, "PUENTE")
    monitor.open()
    yield monitor
    monitor.close()


def exchange(port: int, message: str | bytes) -> bytes:
    """One MLLP frame out, the ACK frame back (raw bytes, framing included)."""
    data = frame(message) if isinstance(message, str) else message
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        out = b""
        while not out.endswith(b"\x1c\r"):
            chunk = s.recv(4096)
            if not chunk:
                break
            out += chunk
    assert out.startswith(b"\x0b") and out.endswith(b"\x1c\r"), out
    return out


def errs(ack: bytes) -> tuple[str, list[tuple[str, str, str, str]]]:
    """(MSA-1, [(ERR-2 location, ERR-3.1 code, ERR-4 severity, ERR-5.1 reason)])."""
    msg = hl7.parse(ack[1:-2].decode())
    out = []
    for e in msg.segments("ERR") if any(str(s[0]) == "ERR" for s in msg) else []:
        out.append((str(e(2)), str(e.extract_field(1, 3, 1, 1)), str(e(4)), str(e(5)(1)(1))))
    return str(msg.segment("MSA")(1)), out


def message(rows: list[str], control_id: str = "Q1", pid: str = "PID|||P1^^^IGSS^PI") -> str:
    ts = datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")
    head = [
        f"MSH|^~\\&|ACME GW^0123456789ABCDEF^EUI-64|WARD 3|||{ts}||ORU^R01^ORU_R01|{control_id}"
        "|P|2.6|||NE|AL",
        pid,
        f"OBR|1|{control_id}^ACME^0123456789ABCDEF^EUI-64||182777000^monitoring of patient^SCT"
        f"|||{ts}",
    ]
    return "\r".join(head + [f"OBX|{i}|{row}" for i, row in enumerate(rows, 1)]) + "\r"


def drain(monitor: MllpMonitor) -> list:
    return monitor.pending()


def test_public_samples_are_accepted_without_errors(listener: MllpMonitor) -> None:
    ack = exchange(listener.port, IHE_BP)
    assert errs(ack) == ("AA", [])
    msh = hl7.parse(ack[1:-2].decode()).segment("MSH")
    # MSH-5/6 answer the sender (its MSH-3/4); MSH-3 is the agent.
    assert str(msh(5)) == "AcmeInc^ACDE48234567ABCD^EUI-64"
    assert str(msh(3)) == "PUENTE"
    assert str(msh(9)) == "ACK^R01^ACK"


def test_unknown_code_in_a_real_monitor_message_is_an_error_located_at_obx3(
    listener: MllpMonitor,
) -> None:
    # Mindray VS-900: OBX 7 is MDC_TEMP_AXIL (188496), not in the code table.
    code, found = errs(exchange(listener.port, MINDRAY))
    assert code == "AE"
    assert found == [("OBX^7^3", "103", "E", "unknown_code")]
    # Readable rows still pass on; the unknown one is a recorded rejection.
    accepted, rejected = map_readings(drain(listener))
    assert len(accepted) == 6
    assert [(x.reading.mdc_code, x.reason_code) for x in rejected] == [(188496, "unknown_code")]


def test_each_unreadable_obx_row_gets_one_located_err(listener: MllpMonitor) -> None:
    text = message(
        [
            "NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.150456|97|262688^MDC_DIM_PERCENT^MDC|||||R",
            "NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.1.1.149530|abc|264864^MDC_DIM_BEAT_PER_MIN"
            "^MDC|||||R",
            "XX|150344^MDC_TEMP_BODY^MDC|1.1.1.150344|36.8|268192^MDC_DIM_DEGC^MDC|||||R",
            "NM|188736^MDC_MASS_BODY_ACTUAL^MDC|1.1.1.188736|70|263875^MDC_DIM_KILO_G^MDC|||||R",
            "NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.2.150456|96|266016^MDC_DIM_MMHG^MDC|||||R",
        ],
        "BAD1",
    )
    ack = exchange(listener.port, text)
    code, found = errs(ack)
    assert code == "AE"
    assert found == [
        ("OBX^2^5", "102", "E", "not_a_number"),
        ("OBX^3^2", "103", "E", "unknown_value_type"),
        ("OBX^4^3", "103", "E", "unknown_code"),
        ("OBX^5^6", "103", "E", "unknown_unit"),
    ]
    parsed = hl7.parse(ack[1:-2].decode())
    assert str(parsed.segment("MSA")(2)) == "BAD1"
    assert str(parsed.segment("MSH")(5)) == "ACME GW^0123456789ABCDEF^EUI-64"
    assert str(parsed.segment("MSH")(6)) == "WARD 3"
    assert b"ERR||OBX^2^5|102^Data type error^HL70357|E|not_a_number^not_a_number^PUENTE|" in ack
    # The take records every refusal, the non-number with the value as sent.
    accepted, rejected = map_readings(drain(listener))
    assert [(r.mdc_code, r.value) for r in accepted] == [(150456, 97.0)]
    assert [(x.reason_code, x.raw_value) for x in rejected] == [
        ("not_a_number", "abc"),
        ("unknown_value_type", "36.8"),
        ("unknown_code", ""),
        ("unknown_unit", ""),
    ]


def test_blood_pressure_with_only_systolic_is_flagged_and_reported(listener: MllpMonitor) -> None:
    text = message(
        [
            "|150020^MDC_PRESS_BLD_NONINV^MDC|1.1.1|||||||X",
            "NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC|1.1.1.1|120|266016^MDC_DIM_MMHG^MDC|||||R",
            "NM|149546^MDC_PULS_RATE_NON_INV^MDC|1.1.2.1|66|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R",
        ],
        "BP1",
    )
    code, found = errs(exchange(listener.port, text))
    assert code == "AE"
    assert found == [("OBX^2^3", "101", "W", "bp_incomplete")]
    accepted, rejected = map_readings(drain(listener))
    assert [(r.mdc_code, tuple(r.flags)) for r in accepted] == [
        (150021, ("bp_incomplete",)),
        (149546, ()),
    ]
    assert rejected == []


def test_diastolic_unreadable_leaves_systolic_flagged(listener: MllpMonitor) -> None:
    text = message(
        [
            "NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC|1.1.1.1|120|266016^MDC_DIM_MMHG^MDC|||||R",
            "NM|150022^MDC_PRESS_BLD_NONINV_DIA^MDC|1.1.1.2|--|266016^MDC_DIM_MMHG^MDC|||||R",
        ],
        "BP2",
    )
    _, found = errs(exchange(listener.port, text))
    assert found == [
        ("OBX^1^3", "101", "W", "bp_incomplete"),
        ("OBX^2^5", "102", "E", "not_a_number"),
    ]


def test_a_message_that_is_not_an_oru_is_rejected_answering_its_sender(
    listener: MllpMonitor,
) -> None:
    adt = "MSH|^~\\&|HIS|HOSP|||20240101000000||ADT^A01^ADT_A01|Q9|P|2.6\rPID|||1\r"
    ack = exchange(listener.port, adt)
    assert errs(ack) == ("AR", [("MSH^1^9", "200", "E", "unsupported_message")])
    msh = hl7.parse(ack[1:-2].decode()).segment("MSH")
    assert (str(msh(5)), str(msh(6))) == ("HIS", "HOSP")
    assert str(hl7.parse(ack[1:-2].decode()).segment("MSA")(2)) == "Q9"


def test_bytes_that_are_not_hl7_are_rejected_with_a_segment_sequence_error(
    listener: MllpMonitor,
) -> None:
    ack = exchange(listener.port, frame("hello, this is not HL7"))
    code, found = errs(ack)
    assert code == "AR"
    assert [(c, r) for _, c, _, r in found] == [("100", "no_msh")]
    # The listener keeps serving on a new connection.
    assert errs(exchange(listener.port, make_oru([(150456, "X", 97, "%")], "OK1")))[0] == "AA"
