"""Agent flows with the simulated reader: quality rejection, offline verification from the cache."""

from __future__ import annotations

from pathlib import Path

import httpx

from drivers.fingerprint import calibration
from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from protos import events_pb2, fingerprint_pb2, fingerprint_pb2_grpc
from tests.brokers import free_port
from tests.grpc_apps import app_channel

ORIGIN = "https://medi.example.test"


def _agent(tmp_path: Path, **fp: object) -> AgentService:
    agent = AgentService(
        AgentSettings(
            station_id="st-sim",
            unit_id="u1",
            data_dir=tmp_path / "agent",
            broker_url=f"mqtt://127.0.0.1:{free_port()}",  # no broker: the hub is unreachable
            http_port=0,
            grpc_port=0,
            allowed_origins=[ORIGIN],
            devices=[
                {"device_id": "reader-1", "driver": "sim.fingerprint", "options": {"seed": 9}}
            ],
            fingerprint={"hub_url": f"http://127.0.0.1:{free_port()}", "hub_timeout_s": 0.5, **fp},
        )
    )
    agent.start()
    assert agent.wait_ready(10)
    return agent


def test_poor_impression_is_refused_then_offline_verify_uses_the_cache(tmp_path: Path) -> None:
    agent = _agent(tmp_path)
    try:
        local = httpx.Client(base_url=agent.http_url, headers={"Origin": ORIGIN}, timeout=60)
        reader = agent.devices.get("reader-1").device
        reader.poor_next()  # type: ignore[union-attr]
        enroll = {
            "device_id": "reader-1",
            "case_id": "c-1",
            "patient_id": "p-1",
            "finger": "LEFT_THUMB",
        }
        refused = local.post("/v1/fingerprint/enroll", json=enroll)
        assert refused.status_code == 422
        assert refused.json()["code"] == "poor_quality"
        assert "impression 1 of 3" in refused.json()["detail"]
        kinds = [
            events_pb2.Event.FromString(raw).WhichOneof("payload")
            for _, _, raw in agent.outbox.pending(0, 10)
        ]
        assert kinds == ["device_status"]  # no enrollment recorded

        assert local.post("/v1/fingerprint/enroll", json=enroll).status_code == 201
        verified = local.post(
            "/v1/fingerprint/verify",
            json={
                "device_id": "reader-1",
                "case_id": "c-1",
                "patient_id": "p-1",
                "step": "admission",
            },
        )
        assert verified.status_code == 201, verified.text
        assert (verified.json()["decision"], verified.json()["templates_source"]) == (
            "MATCH",
            "cache",
        )
        assert verified.json()["finger"] == "LEFT_THUMB"

        unknown = local.post(
            "/v1/fingerprint/verify",
            json={
                "device_id": "reader-1",
                "case_id": "c-1",
                "patient_id": "p-2",
                "step": "admission",
            },
        )
        assert (unknown.status_code, unknown.json()["code"]) == (503, "templates_unavailable")

        with app_channel(agent) as channel:
            stub = fingerprint_pb2_grpc.FingerprintStub(channel)
            reader.set_finger(4)  # type: ignore[union-attr]  # somebody else
            answer = stub.Verify(
                fingerprint_pb2.VerifyRequest(
                    device_id="reader-1",
                    case_id="c-1",
                    patient_id="p-1",
                    step="pharmacy_dispensing",
                ),
                timeout=60,
            )
            assert answer.decision == events_pb2.NO_MATCH
            assert answer.score < answer.threshold == calibration.THRESHOLD
    finally:
        agent.stop()
