"""Only people approve: the gRPC door authenticates apps, Origin null is refused, PINs confirm.

Real agents, real gRPC channels and real HTTP on loopback. A "local process" is
httpx or a gRPC channel sending whatever headers it likes, the agent's own
Origin included.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from drivers.fingerprint.base import CaptureCancelled
from edge_agent.grpc_auth import AppCredential, authenticated_channel, pair_app
from edge_agent.operator_pin import OperatorPin
from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from protos import (
    agent_pb2,
    agent_pb2_grpc,
    events_pb2,
    fingerprint_pb2,
    fingerprint_pb2_grpc,
    pairing_pb2,
    pairing_pb2_grpc,
    vitals_pb2,
    vitals_pb2_grpc,
)
from tests.agent.conftest import SIM_MONITOR
from tests.grpc_apps import OPERATOR_PIN, app_channel

Start = Callable[[AgentSettings], AgentService]
ROOT = Path(__file__).resolve().parents[2]
JSON = {"Content-Type": "application/json"}
NEW_SITE = "https://telemedicina.example"


@pytest.fixture
def agent(make_settings: Callable[..., AgentSettings], start_agent: Start) -> AgentService:
    return start_agent(make_settings(devices=[SIM_MONITOR]))


@pytest.fixture
def http(agent: AgentService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=agent.http_url, timeout=10) as client:
        yield client


def own(agent: AgentService) -> dict[str, str]:
    return {**JSON, "Origin": agent.http_url}


def vitals_request() -> agent_pb2.RecordEventRequest:
    event = events_pb2.Event(case_id="C-77", patient_id="P-77", device_id="monitor-1")
    event.vital_signs.mode = "spot"
    event.vital_signs.readings.add(mdc_code=150456, value=96.0, unit="%")
    return agent_pb2.RecordEventRequest(event=event)


# -- Origin: null ------------------------------------------------------------------------------


def test_origin_null_is_refused_everywhere_pairing_included(
    http: httpx.Client, agent: AgentService
) -> None:
    null = {**JSON, "Origin": "null"}
    asked = http.post("/v1/pairing/requests", json={"app_name": "x"}, headers=null)
    assert (asked.status_code, asked.json()["code"]) == (403, "origin_null")
    assert "access-control-allow-origin" not in asked.headers
    for method, path in (("GET", "/v1/status"), ("GET", "/v1/pairing/status")):
        r = http.request(method, path, headers={"Origin": "null"})
        assert (r.status_code, r.json()["code"]) == (403, "origin_null")
    assert http.get("/v1/pairings").json()["pending"] == []
    assert "origin_null" in [e["decision"] for e in http.get("/v1/audit").json()]


# -- pairing approvals need the operator PIN ---------------------------------------------------


def _ask(http: httpx.Client) -> str:
    asked = http.post("/v1/pairing/requests", json={}, headers={**JSON, "Origin": NEW_SITE})
    assert asked.status_code == 201, asked.text
    return str(asked.json()["request_id"])


def test_a_local_process_cannot_approve_a_pairing_with_the_agents_own_origin(
    http: httpx.Client, agent: AgentService
) -> None:
    request_id = _ask(http)
    approve = f"/v1/pairings/requests/{request_id}/approve"
    # No operator PIN set at this station: nobody can approve, least of all a program.
    unset = http.post(approve, json={}, headers=own(agent))
    assert (unset.status_code, unset.json()["code"]) == (409, "operator_pin_not_set")

    agent.operator_pin.set(OPERATOR_PIN)
    forged = http.post(approve, json={}, headers=own(agent))
    assert (forged.status_code, forged.json()["code"]) == (403, "operator_pin_required")
    wrong = http.post(approve, json={"operator_pin": "000000"}, headers=own(agent))
    assert (wrong.status_code, wrong.json()["code"]) == (403, "operator_pin_wrong")
    waiting = http.get(f"/v1/pairing/requests/{request_id}", headers={"Origin": NEW_SITE}).json()
    assert waiting["state"] == "pending" and waiting["token"] is None

    ok = http.post(approve, json={"operator_pin": OPERATOR_PIN}, headers=own(agent))
    assert ok.status_code == 200, ok.text
    claimed = http.get(f"/v1/pairing/requests/{request_id}", headers={"Origin": NEW_SITE}).json()
    assert claimed["state"] == "approved" and claimed["token"]
    audit_text = (agent.settings.data_dir / "audit.log").read_text()
    assert OPERATOR_PIN not in audit_text and "pairing_approval_refused" in audit_text


def test_each_operator_confirms_with_their_own_pin_and_the_audit_names_them(
    http: httpx.Client, agent: AgentService
) -> None:
    """A PIN shared by a whole station is not something only the person has: each nurse,
    doctor or pharmacist has their own, and the approval is theirs in the audit."""
    agent.operator_pin.set("135791", operator="ana.lopez")
    agent.operator_pin.set("864202", operator="luis.perez")
    request_id = _ask(http)
    approve = f"/v1/pairings/requests/{request_id}/approve"
    unnamed = http.post(approve, json={"operator_pin": "135791"}, headers=own(agent))
    assert (unnamed.status_code, unnamed.json()["code"]) == (403, "operator_required")
    crossed = http.post(
        approve, json={"operator": "ana.lopez", "operator_pin": "864202"}, headers=own(agent)
    )
    assert (crossed.status_code, crossed.json()["code"]) == (403, "operator_pin_wrong")
    stranger = http.post(
        approve, json={"operator": "nadie", "operator_pin": "135791"}, headers=own(agent)
    )
    assert (stranger.status_code, stranger.json()["code"]) == (403, "operator_pin_wrong")
    ok = http.post(
        approve, json={"operator": "luis.perez", "operator_pin": "864202"}, headers=own(agent)
    )
    assert ok.status_code == 200, ok.text
    audit_text = (agent.settings.data_dir / "audit.log").read_text()
    assert '"approved_by": "luis.perez"' in audit_text or "luis.perez" in audit_text
    assert "864202" not in audit_text and "135791" not in audit_text
    assert agent.operator_pin.operators() == ["ana.lopez", "luis.perez"]


def test_a_station_pin_file_of_the_first_version_still_confirms(tmp_path: Path) -> None:
    pins = OperatorPin(tmp_path / "operator-pin")
    pins.set(OPERATOR_PIN)
    line = (tmp_path / "operator-pin").read_text().strip()
    (tmp_path / "operator-pin").write_text(line.split("$", 1)[1] + "\n")  # no operator name
    assert OperatorPin(tmp_path / "operator-pin").verify(OPERATOR_PIN) == "station"


def test_wrong_operator_pins_lock_it(http: httpx.Client, agent: AgentService) -> None:
    agent.operator_pin.set(OPERATOR_PIN)
    request_id = _ask(http)
    approve = f"/v1/pairings/requests/{request_id}/approve"
    codes = [
        http.post(approve, json={"operator_pin": f"99999{i}"}, headers=own(agent)).json()["code"]
        for i in range(6)
    ]
    assert codes[:4] == ["operator_pin_wrong"] * 4 and codes[4:] == ["operator_pin_locked"] * 2
    locked = http.post(approve, json={"operator_pin": OPERATOR_PIN}, headers=own(agent))
    assert locked.status_code == 429  # even the right PIN waits out the lock


def test_the_operator_pin_is_a_salted_scrypt_hash_readable_only_by_the_agent(
    agent: AgentService,
) -> None:
    old = os.umask(0)
    try:
        agent.operator_pin.set(OPERATOR_PIN)
    finally:
        os.umask(old)
    path = agent.operator_pin.path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert text.startswith("station$scrypt$") and OPERATOR_PIN not in text
    second = OperatorPin(path.with_name("other"))
    second.set(OPERATOR_PIN)
    assert second.path.read_text() != text  # salted
    second.verify(OPERATOR_PIN)


# -- the gRPC door -------------------------------------------------------------------------------


def test_an_unauthenticated_grpc_call_is_refused_and_audited(
    agent: AgentService, http: httpx.Client
) -> None:
    depth = agent.outbox.depth()[0]
    with grpc.insecure_channel(agent.grpc_target) as channel:
        stub = agent_pb2_grpc.AgentStub(channel)
        vitals = vitals_pb2_grpc.VitalsStub(channel)
        for call in (
            lambda: stub.GetStatus(agent_pb2.GetStatusRequest(), timeout=10),
            lambda: stub.RecordEvent(vitals_request(), timeout=10),
            lambda: list(vitals.WatchSession(vitals_pb2.SessionRef(session_id="x"), timeout=10)),
        ):
            with pytest.raises(grpc.RpcError) as refused:
                call()
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert "x-puente-token" in (refused.value.details() or "")
    forged = AppCredential("tests", "not-a-token")
    with authenticated_channel(agent.grpc_target, forged) as channel:
        with pytest.raises(grpc.RpcError) as bad_token:
            agent_pb2_grpc.AgentStub(channel).RecordEvent(vitals_request(), timeout=10)
        assert bad_token.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert agent.outbox.depth()[0] == depth
    assert all(
        a["case_id"] != "C-77" for a in http.get("/v1/activity").json()["recent"]
    )  # nothing ran
    assert "grpc_unauthenticated" in [e["decision"] for e in http.get("/v1/audit").json()]


def test_an_authenticated_grpc_action_shows_on_the_board_with_the_app_identity(
    agent: AgentService, http: httpx.Client
) -> None:
    with app_channel(agent, "Expediente HIS") as channel:
        stub = agent_pb2_grpc.AgentStub(channel)
        assert stub.GetStatus(agent_pb2.GetStatusRequest(), timeout=10).station_id == "st-1"
        reply = stub.RecordEvent(vitals_request(), timeout=10)
    assert reply.event_id
    board = http.get("/v1/activity").json()
    mine = [a for a in board["recent"] if a["case_id"] == "C-77"]
    assert [(a["origin"], a["action"], a["patient_id"], a["state"]) for a in mine] == [
        ("app:Expediente HIS", "grpc Agent/RecordEvent", "P-77", "done")
    ]
    # Reads are not actions: GetStatus is not listed.
    assert not [a for a in board["recent"] if a["action"].endswith("GetStatus")]


def test_an_app_pairs_over_grpc_and_the_person_approves_with_the_operator_pin(
    agent: AgentService, http: httpx.Client, tmp_path: Path
) -> None:
    agent.operator_pin.set(OPERATOR_PIN)
    shown: list[str] = []

    def approve_at_the_station(code: str, approve_at: str) -> None:
        shown.append(code)
        assert approve_at == f"{agent.http_url}/ui/pairing"
        pending = http.get("/v1/pairings").json()["pending"]
        assert [(p["origin"], p["code"]) for p in pending] == [("app:Laboratorio", code)]
        forged = http.post(
            f"/v1/pairings/requests/{pending[0]['request_id']}/approve",
            json={},
            headers=own(agent),
        )
        assert forged.status_code == 403
        ok = http.post(
            f"/v1/pairings/requests/{pending[0]['request_id']}/approve",
            json={"operator_pin": OPERATOR_PIN},
            headers=own(agent),
        )
        assert ok.status_code == 200, ok.text

    credential = pair_app(agent.grpc_target, "Laboratorio", approve_at_the_station, 20, 0.05)
    assert len(shown) == 1 and len(shown[0]) == 6
    path = tmp_path / "cred" / "Laboratorio.credential"
    old = os.umask(0)
    try:
        credential.save(path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with authenticated_channel(agent.grpc_target, AppCredential.load(path)) as channel:
        stub = agent_pb2_grpc.AgentStub(channel)
        assert stub.GetStatus(agent_pb2.GetStatusRequest(), timeout=10).station_id == "st-1"
    with pytest.raises(grpc.RpcError) as bad_name, grpc.insecure_channel(agent.grpc_target) as ch:
        pairing_pb2_grpc.AppPairingStub(ch).RequestPairing(
            pairing_pb2.AppPairingRequest(app_name="../etc"), timeout=10
        )
    assert bad_name.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    # Revoked at the agent's page: the app is refused at once.
    assert http.post(
        "/v1/pairings/revoke", json={"origin": "app:Laboratorio"}, headers=own(agent)
    ).json()["revoked"]
    with (
        authenticated_channel(agent.grpc_target, credential) as channel,
        pytest.raises(grpc.RpcError) as revoked,
    ):
        agent_pb2_grpc.AgentStub(channel).GetStatus(agent_pb2.GetStatusRequest(), timeout=10)
    assert revoked.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_reflection_lists_every_service_the_agent_serves(agent: AgentService) -> None:
    with grpc.insecure_channel(agent.grpc_target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        (answer,) = list(stub.ServerReflectionInfo(iter([request]), timeout=30))
    listed = {s.name for s in answer.list_services_response.service}
    assert listed == {
        "puente.v1.Agent",
        "puente.v1.Vitals",
        "puente.v1.Fingerprint",
        "puente.v1.Scanning",
        "puente.v1.Signing",
        "puente.v1.AppPairing",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }


def test_a_capture_asked_over_grpc_is_refused_on_the_board_and_stops(
    make_settings: Callable[..., AgentSettings], start_agent: Start
) -> None:
    agent = start_agent(
        make_settings(devices=[{"device_id": "fp-1", "driver": "sim.fingerprint", "options": {}}])
    )
    reader = agent.devices.get("fp-1").device
    touch = reader.capture  # type: ignore[union-attr]

    def waiting_for_a_finger(timeout_s: float) -> object:  # nobody touches the reader
        if reader._cancel.wait(timeout_s):  # type: ignore[union-attr]
            raise CaptureCancelled("capture cancelled / captura cancelada")
        return touch(timeout_s)

    reader.capture = waiting_for_a_finger  # type: ignore[union-attr]
    outcome: list[grpc.RpcError | object] = []

    def enroll() -> None:
        with app_channel(agent, "Admision") as channel:
            try:
                outcome.append(
                    fingerprint_pb2_grpc.FingerprintStub(channel).Enroll(
                        fingerprint_pb2.EnrollRequest(
                            device_id="fp-1",
                            case_id="C-9",
                            patient_id="P-9",
                            finger=events_pb2.LEFT_THUMB,
                            timeout_s=30,
                        ),
                        timeout=40,
                    )
                )
            except grpc.RpcError as exc:
                outcome.append(exc)

    caller = threading.Thread(target=enroll)
    caller.start()
    with httpx.Client(base_url=agent.http_url, timeout=10) as http:
        deadline = time.monotonic() + 10
        running: list[dict[str, str]] = []
        while not running and time.monotonic() < deadline:
            running = http.get("/v1/activity").json()["running"]
            time.sleep(0.05)
        assert [(a["origin"], a["action"], a["case_id"]) for a in running] == [
            ("app:Admision", "grpc Fingerprint/Enroll", "C-9")
        ]
        refused = http.post(
            f"/v1/activity/{running[0]['activity_id']}/refuse", json={}, headers=own(agent)
        )
        assert refused.json()["refused"] is True
        caller.join(15)
        assert not caller.is_alive()
        (error,) = outcome
        assert isinstance(error, grpc.RpcError)
        assert error.code() in (grpc.StatusCode.CANCELLED, grpc.StatusCode.ABORTED)
        ended: list[str] = []
        deadline = time.monotonic() + 10  # the handler ends after the caller heard CANCELLED
        while not ended and time.monotonic() < deadline:
            recent = http.get("/v1/activity").json()["recent"]
            ended = [a["state"] for a in recent if a["case_id"] == "C-9"]
            time.sleep(0.05)
        assert ended == ["refused"]
    kinds = [
        events_pb2.Event.FromString(raw).WhichOneof("payload")
        for _, _, raw in agent.outbox.pending(0, 50)
    ]
    assert "biometric_enrollment" not in kinds


def test_ops_set_the_operator_pin_and_issue_an_app_credential_with_the_cli(
    make_settings: Callable[..., AgentSettings], start_agent: Start, tmp_path: Path
) -> None:
    """`puente agent operator-pin` / `app-credential` on a running agent (no restart)."""
    settings = make_settings()
    agent = start_agent(settings)
    config = tmp_path / "agent.toml"
    config.write_text(
        f'station_id = "st-1"\nunit_id = "unit-1"\ndata_dir = "{settings.data_dir}"\n'
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PUENTE_AGENT_CONFIG", None)
    cli = [sys.executable, "-m", "edge_agent.cli", "--config", str(config)]
    short = subprocess.run(
        [*cli, "operator-pin", "--stdin"], input="123\n", text=True, env=env, capture_output=True
    )
    assert short.returncode == 2 and "6" in short.stdout
    done = subprocess.run(
        [*cli, "operator-pin", "--stdin"],
        input=f"{OPERATOR_PIN}\n",
        text=True,
        env=env,
        capture_output=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    agent.operator_pin.verify(OPERATOR_PIN)  # the running agent reads the new hash

    out = tmp_path / "creds" / "his.credential"
    issued = subprocess.run(
        [*cli, "app-credential", "HIS", "--out", str(out)], text=True, env=env, capture_output=True
    )
    assert issued.returncode == 0, issued.stdout + issued.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with authenticated_channel(agent.grpc_target, AppCredential.load(out)) as channel:
        reply = agent_pb2_grpc.AgentStub(channel).RecordEvent(vitals_request(), timeout=10)
    assert reply.event_id
