"""Raw MQTT payloads, fuzzed: atheris (coverage-guided, bounded runs) and hypothesis bytes,
through the hub's message handler and one ingest commit; nothing raises."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.ingest.pipeline import Incoming, process_batch
from hub.storage.sqlite import SQLiteStore
from protos import events_pb2, topics
from tests.hub.events import STATION, UNIT, batch_bytes, state_bytes, vitals_event
from tests.hub.proto_strategies import FUZZ

TARGET = Path(__file__).with_name("fuzz_mqtt_payload.py")
ROOT = Path(__file__).resolve().parents[2]
ANSWERS = {events_pb2.ACCEPTED, events_pb2.DUPLICATE, events_pb2.REJECTED}
TOPICS = [
    topics.events(UNIT, STATION),
    f"{topics.PREFIX}/{UNIT}/{STATION}/state",
    topics.events(UNIT, "st-unknown"),
    "puente/v2/x",
]


def seeds() -> list[bytes]:
    """Valid messages to start mutating from (first byte: which topic)."""
    signed = vitals_event()
    signed.signed_document.document_type = "SPS-53"
    signed.signed_document.signer.signed_at.GetCurrentTime()
    # Values one byte flip away from out of range: a station_seq of 2**62 and a measured_at
    # in the year 9999.
    edge = vitals_event(station_seq=2**62)
    edge.vital_signs.readings[0].measured_at.seconds = 253_402_300_799
    return [
        b"\x00" + batch_bytes(vitals_event(), vitals_event(station_seq=2)),
        b"\x00" + batch_bytes(edge),
        b"\x00" + batch_bytes(signed),
        b"\x01" + state_bytes(),
    ]


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris not installed")
def test_atheris_fuzzes_the_raw_payload_path_for_a_bounded_time(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, seed in enumerate(seeds()):
        (corpus / f"seed-{i}").write_bytes(seed)
    # Boundary varints (2**63, 2**64 - 1 = -1 as int64, 2**31, 2**38 s = past the year 9999)
    # for the mutator to insert.
    dictionary = tmp_path / "varints.dict"
    dictionary.write_text(
        'u63="\\x80\\x80\\x80\\x80\\x80\\x80\\x80\\x80\\x80\\x01"\n'
        'u64="\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x01"\n'
        'i31="\\x80\\x80\\x80\\x80\\x08"\n'
        'y10k="\\x80\\x80\\x80\\x80\\x80\\x08"\n'
    )
    runs = int(os.environ.get("PUENTE_FUZZ_EXAMPLES", "60")) * 35
    done = subprocess.run(
        [
            sys.executable,
            str(TARGET),
            f"-runs={runs}",
            "-max_total_time=10",
            "-seed=1",
            f"-dict={dictionary}",
            f"-artifact_prefix={tmp_path}/",
            str(corpus),
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    tail = done.stderr[-3000:]
    assert done.returncode == 0, tail
    assert "Done" in tail, tail


@FUZZ
@given(topic=st.sampled_from(TOPICS), payload=st.binary(max_size=2048) | st.sampled_from(seeds()))
def test_any_bytes_on_any_topic_are_handled_without_raising(
    store: SQLiteStore, topic: str, payload: bytes
) -> None:
    outcome = process_batch([Incoming(topic, payload, time.time(), 1, 1)], store, 3600)
    for batch in outcome.receipts.values():
        assert {r.status for r in batch.receipts} <= ANSWERS
    store.render_pending_payloads(50)
