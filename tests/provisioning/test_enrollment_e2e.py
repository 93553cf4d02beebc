"""From `puente agent enroll` to a receipted event over mutual TLS, remote config, retirement."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from edge_agent.service import AgentService
from edge_agent.settings import load as load_agent
from hub.service import HubService
from protos import events_pb2
from protos import station_config as sealed
from protos.topics import config as config_topic
from provisioning.pki import key_pem, make_csr, write_private
from tests.provisioning.pki import Client, ClientFiles, TlsMosquitto

OPS = {"Authorization": "Bearer ops-secret-e2e"}


def wait_for(pred: Callable[[], object], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return bool(pred())


def _enroll(hub: HubService, code: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "puente_cli.main",
            "agent",
            "enroll",
            "--hub",
            hub.http_url,
            "--code",
            code,
            "--data-dir",
            str(workdir / "agent-data"),
            "--config-out",
            str(workdir / "agent.toml"),
            "--http-port",
            "0",
            "--grpc-port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=workdir,
    )


def _record(agent: AgentService) -> str:
    obs = events_pb2.VitalSignsObservation(
        mode="spot", readings=[events_pb2.Reading(mdc_code=150456, value=97.0, unit="%")]
    )
    event_id, _ = agent.record.record(
        payload_name="vital_signs",
        payload=obs,
        device_id="monitor-1",
        case_id="C-1",
        patient_id="P-1",
    )
    return event_id


def test_enrolled_station_delivers_over_mutual_tls_and_follows_remote_config(
    hub: HubService, tls_mosquitto: TlsMosquitto, tmp_path: Path
) -> None:
    api = httpx.Client(base_url=hub.http_url, headers=OPS, timeout=20)
    assert api.post("/v1/units", json={"unit_id": "U7", "name": "Zona 9"}).status_code == 201
    assert api.post("/v1/stations", json={"station_id": "st-7", "unit_id": "U7"}).status_code == 201
    put = api.put(
        "/v1/stations/st-7/devices/monitor-1",
        json={
            "device_id": "monitor-1",
            "device_type": "monitor",
            "driver": "sim.monitor",
            "serial": "SIM-7",
        },
    )
    assert put.status_code == 200, put.text
    code = api.post("/v1/stations/st-7/enrollment-codes").json()["code"]

    done = _enroll(hub, code, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    key_file = tmp_path / "agent-data" / "station-key.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # The same code again: refused, nothing issued.
    (tmp_path / "again").mkdir()
    again = _enroll(hub, code, tmp_path / "again")
    assert again.returncode == 1
    assert "code_used" in again.stdout

    os.environ.pop("PUENTE_AGENT_CONFIG", None)
    settings = load_agent(tmp_path / "agent.toml")
    try:
        assert settings.station_id == "st-7"
        assert settings.broker_url == tls_mosquitto.url
        agent = AgentService(settings)
    finally:
        os.environ.pop("PUENTE_AGENT_CONFIG", None)
    # The hub verifies station signatures with the key enrollment registered.
    assert hub.store.station_key("st-7") == agent.identity.public_key_pem
    agent.start()
    try:
        assert agent.wait_connected(20)
        # The config that came with enrollment (v1 was published when the device was added).
        assert agent.remote_config.version == 2
        assert [d.device_id for d in agent.devices.list()] == ["monitor-1"]
        event_id = _record(agent)
        assert wait_for(lambda: hub.store.get_event(event_id) is not None)
        assert wait_for(lambda: agent.outbox.depth()[0] == 0)  # receipted and deleted
        assert api.get(f"/v1/events/{event_id}/device").json()["serial"] == "SIM-7"

        # Remote config: applied live; the outbox and the MQTT link are the same ones.
        outbox, client = agent.outbox, agent.uplink.client
        reply = api.put("/v1/stations/st-7/config", json={"overrides": {"receipt_timeout_s": 7}})
        assert reply.status_code == 200 and reply.json()["version"] == 3
        assert wait_for(lambda: agent.remote_config.version == 3)
        assert agent.settings.receipt_timeout_s == 7.0
        assert agent.outbox is outbox and agent.uplink.client is client
        assert agent.uplink.state().reconnects == 0
        assert wait_for(lambda: api.get("/v1/stations/st-7/config").json()["applied_version"] == 3)
        # The hub refuses to publish an invalid config.
        bad = api.put("/v1/stations/st-7/config", json={"overrides": {"receipt_timeout_s": -1}})
        assert bad.status_code == 422 and bad.json()["code"] == "invalid_config"

        # A signed config the agent cannot apply: refused, reported, version 3 stays.
        assert hub.fleet.publish is not None
        unusable = sealed.seal(
            hub.fleet.config_key,
            sealed.SignedConfig(
                "st-7",
                "U7",
                4,
                "2030-01-01T00:00:00Z",
                {"devices": [{"device_id": "m9", "driver": "no.such.driver"}]},
            ),
        )
        hub.fleet.publish(config_topic("U7", "st-7"), unusable, True)
        assert wait_for(lambda: "invalid_config" in agent.remote_config.error)
        assert agent.remote_config.version == 3
        assert agent.settings.receipt_timeout_s == 7.0
        assert wait_for(
            lambda: "no.such.driver" in api.get("/v1/stations/st-7/config").json()["applied_error"]
        )
        # Signed by someone else: refused as a bad signature.
        forged = sealed.seal(
            ec.generate_private_key(ec.SECP256R1()),
            sealed.SignedConfig("st-7", "U7", 9, "2030-01-01T00:00:00Z", {}),
        )
        hub.fleet.publish(config_topic("U7", "st-7"), forged, True)
        assert wait_for(lambda: agent.remote_config.error.startswith("bad_signature"))
        assert agent.remote_config.version == 3

        # Retire: certificate revoked, the broker reloads its CRL/ACL, access is gone.
        retired = api.post("/v1/stations/st-7/retire")
        assert retired.status_code == 200
        certs = hub.fleet.registry.certificates("st-7")
        assert len(certs) == 1 and certs[0].revoked_at is not None
        time.sleep(1.0)
        data = tmp_path / "agent-data"
        probe = Client(
            tls_mosquitto.port,
            tls_mosquitto.files.ca,
            ClientFiles(data / "station-cert.pem", data / "station-key.pem"),
            "probe",
        )
        assert probe.connect(timeout=3) is False
        late = _record(agent)
        time.sleep(2.0)
        assert hub.store.get_event(late) is None
    finally:
        agent.stop()


def _station(api: httpx.Client, station_id: str, unit_id: str = "U7") -> str:
    """Register a station (its unit made if needed) and return a fresh enrollment code."""
    api.post("/v1/units", json={"unit_id": unit_id, "name": unit_id})
    made = api.post("/v1/stations", json={"station_id": station_id, "unit_id": unit_id})
    assert made.status_code == 201, made.text
    return str(api.post(f"/v1/stations/{station_id}/enrollment-codes").json()["code"])


def _agent(workdir: Path) -> AgentService:
    os.environ.pop("PUENTE_AGENT_CONFIG", None)
    try:
        settings = load_agent(workdir / "agent.toml")
    finally:
        os.environ.pop("PUENTE_AGENT_CONFIG", None)
    agent = AgentService(settings.model_copy(update={"reconnect_min_s": 0.1}))
    agent.start()
    return agent


def _rogue(hub: HubService, tls: TlsMosquitto, api: httpx.Client, tmp: Path) -> Client:
    """An enrolled station (valid certificate, in the broker's roles) run by a raw client."""
    code = _station(api, "st-rogue")
    key = ec.generate_private_key(ec.SECP256R1())
    result = hub.fleet.enroll(code, make_csr(key).decode())
    files = ClientFiles(tmp / "rogue-cert.pem", tmp / "rogue-key.pem")
    files.cert.write_text(result.certificate_pem)
    write_private(files.key, key_pem(key))
    rogue = Client(tls.port, tls.files.ca, files, "puente-agent-st-rogue")
    assert rogue.connect()
    return rogue


def test_a_station_cannot_take_a_share_of_the_hubs_events(
    hub: HubService, tls_mosquitto: TlsMosquitto, tmp_path: Path
) -> None:
    """A misbehaving station subscribing to `$share/hub/...` is refused by the broker, so a
    well-behaved station's events all reach the hub and are receipted at once."""
    api = httpx.Client(base_url=hub.http_url, headers=OPS, timeout=20)
    good_dir = tmp_path / "good"
    good_dir.mkdir()
    assert _enroll(hub, _station(api, "st-good"), good_dir).returncode == 0
    rogue = _rogue(hub, tls_mosquitto, api, tmp_path)
    assert hub.fleet.broker_status is not None and hub.fleet.broker_status.ok
    # Refused at SUBSCRIBE: the shared subscription, the hub's tree, another's receipts.
    assert rogue.subscribe("$share/hub/puente/v1/+/+/events") == [0x80]
    assert rogue.subscribe("$share/other/puente/v1/+/+/events") == [0x80]
    assert rogue.subscribe("puente/v1/+/+/events") == [0x80]
    assert rogue.subscribe("puente/v1/U7/st-good/receipts") == [0x80]
    assert rogue.subscribe("puente/v1/U7/st-rogue/receipts") == [1]  # its own: fine

    agent = _agent(good_dir)
    try:
        assert agent.wait_connected(20)
        # The default receipt timeout is 10 s: a lost share would leave rows for that long.
        assert agent.settings.receipt_timeout_s >= 10
        ids = [_record(agent) for _ in range(40)]
        assert wait_for(lambda: agent.outbox.depth()[0] == 0, timeout=6.0)
        assert all(hub.store.get_event(i) is not None for i in ids)
        assert agent.metrics.resent.value == 0
        assert not [m for m in rogue.messages if m[0].endswith("/events")]
    finally:
        agent.stop()
        rogue.close()


def test_re_enrollment_and_retirement_end_the_open_session_at_once(
    hub: HubService, tls_mosquitto: TlsMosquitto, tmp_path: Path
) -> None:
    api = httpx.Client(base_url=hub.http_url, headers=OPS, timeout=20)
    old_dir, new_dir = tmp_path / "old-pc", tmp_path / "new-pc"
    old_dir.mkdir()
    new_dir.mkdir()
    assert _enroll(hub, _station(api, "st-9"), old_dir).returncode == 0
    old = _agent(old_dir)
    new: AgentService | None = None
    try:
        assert old.wait_connected(20)
        # The station moves to a new PC: a new code, a new key and certificate.
        code = api.post("/v1/stations/st-9/enrollment-codes").json()["code"]
        assert _enroll(hub, code, new_dir).returncode == 0
        assert hub.fleet.broker_status is not None and hub.fleet.broker_status.ok
        # The old PC's open session ends now (not at its next publish), and stays ended.
        assert wait_for(lambda: not old.uplink.state().connected, timeout=3.0)
        time.sleep(1.5)  # several reconnect attempts (0.1 s backoff): the CRL refuses them
        assert not old.uplink.state().connected
        late = _record(old)
        new = _agent(new_dir)
        assert new.wait_connected(20)
        fresh = _record(new)
        assert wait_for(lambda: hub.store.get_event(fresh) is not None)
        time.sleep(0.5)
        assert hub.store.get_event(late) is None
        # Another station's enrollment syncs the broker too: this session is left alone.
        other_dir = tmp_path / "other"
        other_dir.mkdir()
        assert _enroll(hub, _station(api, "st-10"), other_dir).returncode == 0
        time.sleep(0.5)
        assert new.uplink.state().connected and new.uplink.state().reconnects == 0
        # Retirement: the new PC's session ends at once too.
        assert api.post("/v1/stations/st-9/retire").status_code == 200
        assert wait_for(lambda: not new.uplink.state().connected, timeout=3.0)
        assert hub.fleet.broker_status is not None and hub.fleet.broker_status.ok
    finally:
        old.stop()
        if new is not None:
            new.stop()
