"""The committed generated modules of protos/ match what protoc makes from the .proto files."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _load_generator():
    spec = importlib.util.spec_from_file_location("gen_protos", ROOT / "scripts/gen_protos.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_python_is_not_stale(tmp_path: Path) -> None:
    gen = _load_generator()
    gen.generate(tmp_path)
    fresh = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert fresh, "protoc produced nothing"
    for relative, content in fresh.items():
        committed = ROOT / relative
        assert committed.exists(), f"{relative} is generated but not committed"
        assert committed.read_bytes() == content, (
            f"{relative} is stale: run `python scripts/gen_protos.py` and commit"
        )
    committed_generated = {
        p.relative_to(ROOT)
        for pattern in ("*_pb2.py", "*_pb2.pyi", "*_pb2_grpc.py")
        for p in (ROOT / "protos").glob(pattern)
    }
    assert committed_generated == set(fresh), "generated files committed without a .proto"


def test_a_changed_proto_is_detected(tmp_path: Path) -> None:
    """The freshness check can fail: a proto with one more field generates other bytes."""
    gen = _load_generator()
    gen.generate(tmp_path / "a")
    source = (ROOT / "protos/events.proto").read_text()
    changed = source.replace("string device_id = 4;", "string device_id = 4;\n  string x = 99;")
    proto_dir = tmp_path / "src/protos"
    proto_dir.mkdir(parents=True)
    (proto_dir / "events.proto").write_text(changed)
    (proto_dir / "agent.proto").write_text((ROOT / "protos/agent.proto").read_text())
    gen.ROOT = tmp_path / "src"
    gen.PROTO_FILES = ["protos/agent.proto", "protos/events.proto"]
    gen.generate(tmp_path / "b")
    assert (tmp_path / "a/protos/events_pb2.py").read_bytes() != (
        tmp_path / "b/protos/events_pb2.py"
    ).read_bytes()


def test_topics_round_trip_and_refuse_wildcards() -> None:
    import pytest

    from protos import topics

    assert topics.events("u1", "st-9") == "puente/v1/u1/st-9/events"
    parsed = topics.parse("puente/v1/u1/st-9/receipts")
    assert (parsed.unit_id, parsed.station_id, parsed.leaf) == ("u1", "st-9", "receipts")
    assert topics.all_events(True) == "$share/hub/puente/v1/+/+/events"
    for bad in ("+", "#", "a/b", "", "x" * 65):
        with pytest.raises(topics.TopicError):
            topics.events("u1", bad)
