"""Agent side: captures kept as WSQ only when asked, the template cache sealed at rest, a
libfprint capture with no finger timing out clearly, and the Fingerprint service listed by gRPC
reflection."""

from __future__ import annotations

import stat
from pathlib import Path

import grpc
import httpx
import numpy as np
import pytest
import wsq  # noqa: F401  (the WSQ codec for Pillow)
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from PIL import Image

from drivers.fingerprint import synthetic
from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from tests.brokers import free_port

ORIGIN = "https://medi.example.test"
ENROLL = {"device_id": "reader-1", "case_id": "c-1", "patient_id": "p-1", "finger": "LEFT_THUMB"}


def _agent(tmp_path: Path, device: dict[str, object], **fp: object) -> AgentService:
    agent = AgentService(
        AgentSettings(
            station_id="st-doors",
            unit_id="u1",
            data_dir=tmp_path / "agent",
            broker_url=f"mqtt://127.0.0.1:{free_port()}",
            http_port=0,
            grpc_port=0,
            allowed_origins=[ORIGIN],
            devices=[{"device_id": "reader-1", **device}],
            fingerprint={"hub_url": "", **fp},
        )
    )
    agent.start()
    assert agent.wait_ready(10)
    return agent


def _local(agent: AgentService) -> httpx.Client:
    return httpx.Client(base_url=agent.http_url, headers={"Origin": ORIGIN}, timeout=60)


def test_kept_images_are_wsq_and_the_template_cache_is_sealed(tmp_path: Path) -> None:
    agent = _agent(
        tmp_path, {"driver": "sim.fingerprint", "options": {"seed": 9}}, keep_images=True
    )
    try:
        assert _local(agent).post("/v1/fingerprint/enroll", json=ENROLL).status_code == 201
    finally:
        agent.stop()
    data = tmp_path / "agent"
    kept = sorted((data / "fingerprint-images").iterdir())
    assert [p.name for p in kept] == [f"enroll-p-1-6-{k}.wsq" for k in range(3)]
    first = kept[0].read_bytes()
    assert first[:2] == b"\xff\xa0"  # WSQ start-of-image marker
    original = synthetic.impression(9, 0, 0)
    with Image.open(kept[0]) as img:
        assert (img.format, img.size, img.mode) == ("WSQ", (320, 400), "L")
        back = np.asarray(img, dtype=np.int16)
    assert len(first) < original.size / 4  # compressed, not raw pixels
    assert float(np.mean(np.abs(back - original))) < 12  # and close to what was captured

    # the cache: key file 0600, no template bytes in clear anywhere in the database files
    key = data / "fp-cache.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_bytes()) == 32
    db_bytes = b"".join(p.read_bytes() for p in data.glob("fp-templates.sqlite3*"))
    assert b"sealed_templates" in db_bytes
    assert b"FMR\x00030\x00" not in db_bytes  # the ISO record magic


def test_without_keep_images_no_image_is_written(tmp_path: Path) -> None:
    agent = _agent(tmp_path, {"driver": "sim.fingerprint", "options": {"seed": 9}})
    try:
        assert _local(agent).post("/v1/fingerprint/enroll", json=ENROLL).status_code == 201
    finally:
        agent.stop()
    assert not (tmp_path / "agent" / "fingerprint-images").exists()


def test_a_replaced_cache_key_drops_the_cache_instead_of_failing(tmp_path: Path) -> None:
    agent = _agent(tmp_path, {"driver": "sim.fingerprint", "options": {"seed": 9}})
    try:
        local = _local(agent)
        assert local.post("/v1/fingerprint/enroll", json=ENROLL).status_code == 201
        cache = agent.fingerprint.templates
        assert [t.finger for t in cache.cached("p-1")] == [6]
        cache.close()
        cache.key_path.write_bytes(b"\x00" * 32)  # another key: the rows no longer open
        assert cache.cached("p-1") == []
        verify = {k: ENROLL[k] for k in ("device_id", "case_id", "patient_id")}
        answer = local.post("/v1/fingerprint/verify", json={**verify, "step": "admission"})
        assert (answer.status_code, answer.json()["code"]) == (409, "not_enrolled")
    finally:
        agent.stop()


@pytest.fixture
def socket_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "fp-virtual.sock"
    monkeypatch.setenv("FP_VIRTUAL_IMAGE", str(path))
    return path


def test_a_libfprint_capture_with_no_finger_times_out_clearly(
    tmp_path: Path, socket_path: Path
) -> None:
    agent = _agent(tmp_path, {"driver": "libfprint", "options": {"driver": "virtual_image"}})
    try:
        answer = _local(agent).post("/v1/fingerprint/enroll", json={**ENROLL, "timeout_s": 1.5})
        assert answer.status_code == 504, answer.text
        problem = answer.json()
        assert problem["code"] == "capture_timeout"
        assert problem["detail"] == ("no finger within 1.5s / no se colocó el dedo en 1.5s")
        # the reader is free again: a second attempt times out the same way (not "busy")
        again = _local(agent).post("/v1/fingerprint/enroll", json={**ENROLL, "timeout_s": 1})
        assert (again.status_code, again.json()["code"]) == (504, "capture_timeout")
    finally:
        agent.stop()


def test_grpc_reflection_lists_the_fingerprint_service(tmp_path: Path) -> None:
    agent = _agent(tmp_path, {"driver": "sim.fingerprint", "options": {"seed": 9}})
    try:
        with grpc.insecure_channel(agent.grpc_target) as channel:
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            request = reflection_pb2.ServerReflectionRequest(list_services="")
            (answer,) = list(stub.ServerReflectionInfo(iter([request]), timeout=30))
            names = {s.name for s in answer.list_services_response.service}
            assert "puente.v1.Fingerprint" in names
            request = reflection_pb2.ServerReflectionRequest(
                file_containing_symbol="puente.v1.Fingerprint"
            )
            (answer,) = list(stub.ServerReflectionInfo(iter([request]), timeout=30))
            assert answer.file_descriptor_response.file_descriptor_proto  # its schema, too
    finally:
        agent.stop()
