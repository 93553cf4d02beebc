"""Property tests of the PCD-01 receiver: any bytes get an ACK (AA/AE/AR) or a clear refusal.

Whatever a sender puts in a frame — random bytes, an ORU with random OBX fields — the
receiver answers with an ACK python-hl7 parses back, whose MSA-2 echoes what could be read
of the control id, and never raises (one bad message must not stop the listener).
"""

from __future__ import annotations

import hl7
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.vitals.hl7_pcd01 import _Receiver, parse_oru
from edge_agent.capabilities.vitals.attribution import review

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def receiver() -> _Receiver:
    r = _Receiver()
    r.review = review
    return r


def answer(block: bytes) -> hl7.Message:
    text = receiver().handle(block)
    text.encode("utf-8")  # what the listener writes back
    msg = hl7.parse(text)
    assert str(msg.segment("MSA")(1)) in {"AA", "AE", "AR"}
    for err in (s for s in msg if str(s[0]) == "ERR"):
        assert str(err(8)).isascii()  # our own words: ASCII for any sender
    return msg


@FAST
@given(st.binary(max_size=2000))
def test_any_bytes_get_an_ack(block: bytes) -> None:
    answer(block)


@FAST
@given(st.text(max_size=400).map(lambda t: ("MSH|^~\\&|" + t).encode("utf-8", "replace")))
def test_any_text_after_a_header_gets_an_ack(block: bytes) -> None:
    answer(block)


field = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x0b\x1c|"),
    max_size=20,
)
obx = st.tuples(
    st.sampled_from(["NM", "", "CWE", "XX", "ST", "DTM", "NM"]),
    st.one_of(st.integers(-5, 2**33).map(str), field),
    st.one_of(st.floats(allow_nan=True).map(repr), field),
    st.sampled_from(["262688^MDC_DIM_PERCENT^MDC", "mm[Hg]^mm[Hg]^UCUM", "", "kg"]),
    st.sampled_from(["R", "X", "F", ""]),
    st.one_of(st.just(""), field, st.just("20260301120000+0000"), st.just("99999999999999")),
)


@FAST
@given(st.lists(obx, max_size=8), field)
def test_oru_with_random_obx_rows_is_answered_row_by_row(
    rows: list[tuple[str, str, str, str, str, str]], control: str
) -> None:
    control = control.replace("^", "").replace("~", "").replace("\\", "").replace("&", "")
    segments = [
        f"MSH|^~\\&|SIM^0123456789ABCDEF^EUI-64||||20260301120000||ORU^R01^ORU_R01|{control}|P|2.6",
        "PID|||1^^^H^PI||Doe^John",
        "OBR|1|X||182777000^monitoring^SCT|||20260301120000",
    ]
    for i, (vt, code, value, unit, status, at) in enumerate(rows, 1):
        segments.append(f"OBX|{i}|{vt}|{code}^REF^MDC|1.1.1|{value}|{unit}|||||{status}|||{at}")
    block = ("\r".join(segments) + "\r").encode()
    msg = answer(block)
    assert str(msg.segment("MSA")(2)).strip() == control.strip()  # echoed as sent
    errs = [s for s in msg if str(s[0]) == "ERR"]
    oru = parse_oru(block)
    # One ERR per driver-level problem at least; AA exactly when there is none.
    assert len(errs) >= len(oru.problems)
    assert (str(msg.segment("MSA")(1)) == "AA") == (not errs)
