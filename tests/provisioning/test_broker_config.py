"""`puente hub broker-config` writes a Mosquitto configuration that a real Mosquitto runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from hub.fleet import FleetService
from hub.ingest.timefmt import now_iso
from hub.settings import HubSettings
from hub.storage import open_store
from provisioning.mosquitto import MAX_PACKET_SIZE, MESSAGE_SIZE_LIMIT
from provisioning.pki import StationCA, key_pem, make_csr, write_private
from provisioning.registry import Unit
from tests.brokers import free_port, start_mosquitto
from tests.e2e.processes import write_toml
from tests.provisioning.pki import Client, ClientFiles, station_files


def test_broker_config_runs_in_a_real_mosquitto(tmp_path: Path) -> None:
    config = write_toml(tmp_path / "hub.toml", {"data_dir": str(tmp_path / "hub")})
    out, port = tmp_path / "broker", free_port()
    run_as = ["--run-as", "root"] if os.geteuid() == 0 else []
    argv = ["hub", "broker-config", "--out", str(out), "--port", str(port)]
    argv += ["--bind", "127.0.0.1", "--hostname", "127.0.0.1", *run_as, "--config", str(config)]
    argv += ["--persistence-dir", str(tmp_path)]  # not the system's /var/lib/mosquitto
    done = subprocess.run(
        [sys.executable, "-m", "puente_cli.main", *argv],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "broker-cert.pem",
        "broker-key.pem",
        "ca.pem",
        "crl.pem",
        "dynamic-security.json",
        "mosquitto.conf",
    ]
    conf = (out / "mosquitto.conf").read_text()
    assert f"listener {port} 127.0.0.1" in conf
    assert f"crlfile {out / 'crl.pem'}" in conf and "acl_file" not in conf
    assert f"plugin_opt_config_file {out / 'dynamic-security.json'}" in conf
    assert f"pid_file {out / 'mosquitto.pid'}" in conf
    assert "require_certificate true" in conf and "use_identity_as_username true" in conf
    assert "broker_dir" in done.stderr  # tells ops to point the hub at these files

    ca = StationCA.load_or_create(tmp_path / "hub" / "pki")  # the hub's own station CA
    key, issued = ca.issue_service("puente-hub")
    write_private(tmp_path / "hub-key.pem", key)
    (tmp_path / "hub-cert.pem").write_bytes(issued.pem)
    log = open(tmp_path / "mosquitto.log", "wb")  # noqa: SIM115 - closed below
    proc = start_mosquitto(out / "mosquitto.conf", port, log)
    try:
        hub = Client(
            port,
            out / "ca.pem",
            ClientFiles(tmp_path / "hub-cert.pem", tmp_path / "hub-key.pem"),
            "hub",
        )
        assert hub.connect()
        assert hub.subscribe("puente/v1/+/+/events") == [1]
        hub.close()
        forger = StationCA.create(tmp_path / "forger")
        forged = Client(port, out / "ca.pem", station_files(forger, tmp_path, "st-f"), "f")
        assert forged.connect(timeout=3) is False
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def _generated_broker(tmp_path: Path) -> tuple[FleetService, Path, int, subprocess.Popen[bytes]]:
    """`broker-config`'s files (in process), a Mosquitto run from them, and a fleet service
    whose settings name only broker_dir (no reload setting: the pid file is found there)."""
    port, out = free_port(), tmp_path / "broker"
    settings = HubSettings(
        data_dir=tmp_path / "hub",
        broker_url=f"mqtts://127.0.0.1:{port}",
        tls_ca_file=out / "ca.pem",
        tls_cert_file=tmp_path / "hub-cert.pem",
        tls_key_file=tmp_path / "hub-key.pem",
        broker_dir=out,
    )
    store = open_store(settings)
    store.migrate()
    fleet = FleetService(settings, store)
    key, issued = fleet.ca.issue_service("puente-hub")
    write_private(tmp_path / "hub-key.pem", key)
    (tmp_path / "hub-cert.pem").write_bytes(issued.pem)
    run_as = "root" if os.geteuid() == 0 else None
    fleet.write_broker_config(out, port, "127.0.0.1", ["127.0.0.1"], user=run_as)
    log = open(tmp_path / "mosquitto.log", "wb")  # noqa: SIM115 - lives with the process
    proc = start_mosquitto(out / "mosquitto.conf", port, log)  # its SIGHUP handler is in from here
    return fleet, out, port, proc


def _enrolled(fleet: FleetService, tmp_path: Path, station_id: str) -> ClientFiles:
    fleet.registry.add_unit(Unit("U1", "Zona 1"), now_iso())
    fleet.store.register_station(station_id, "U1", now_iso())
    code, _ = fleet.create_code(station_id, "ops")
    key = ec.generate_private_key(ec.SECP256R1())
    result = fleet.enroll(code, make_csr(key).decode())
    files = ClientFiles(tmp_path / f"{station_id}-cert.pem", tmp_path / f"{station_id}-key.pem")
    files.cert.write_text(result.certificate_pem)
    write_private(files.key, key_pem(key))
    return files


def _hub_client(tmp_path: Path, out: Path, port: int) -> Client:
    files = ClientFiles(tmp_path / "hub-cert.pem", tmp_path / "hub-key.pem")
    hub = Client(port, out / "ca.pem", files, "hub-test")
    assert hub.connect()
    assert hub.subscribe("$share/hub/puente/v1/+/+/events") == [1]
    return hub


def test_generated_config_reloads_through_its_pid_file_and_retiring_cuts_the_session(
    tmp_path: Path,
) -> None:
    fleet, out, port, proc = _generated_broker(tmp_path)
    try:
        assert (out / "mosquitto.pid").read_text().strip() == str(proc.pid)
        files = _enrolled(fleet, tmp_path, "st-1")
        assert fleet.broker_status is not None and fleet.broker_status.ok
        station = Client(port, out / "ca.pem", files, "puente-agent-st-1")
        assert station.connect()
        fleet.retire("st-1")
        assert fleet.broker_status.ok, fleet.broker_status.problems
        assert station.disconnected.wait(3)  # the open session ends at once
        station.close()
        # The reload happened (pid file, no reload setting): the CRL refuses the certificate.
        again = Client(port, out / "ca.pem", files, "puente-agent-st-1-again")
        assert again.connect(timeout=3) is False
    finally:
        proc.terminate()
        proc.wait(10)


def test_generated_config_limits_payloads(tmp_path: Path) -> None:
    fleet, out, port, proc = _generated_broker(tmp_path)
    try:
        files = _enrolled(fleet, tmp_path, "st-1")
        hub = _hub_client(tmp_path, out, port)
        station = Client(port, out / "ca.pem", files, "puente-agent-st-1")
        assert station.connect()
        topic = "puente/v1/U1/st-1/events"
        # Over message_size_limit: acknowledged (MQTT 3.1.1 has no refusal) but not forwarded.
        station.publish(topic, b"x" * (MESSAGE_SIZE_LIMIT + 1))
        station.publish(topic, b"small")
        deadline = time.monotonic() + 5
        while not hub.messages and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        assert [len(p) for _, p in hub.messages] == [5]
        # Over max_packet_size: the broker drops the connection before reading it all.
        station.c.publish(topic, b"x" * (MAX_PACKET_SIZE + 1), qos=1)
        assert station.disconnected.wait(5)
        assert [len(p) for _, p in hub.messages] == [5]
        station.close()
        hub.close()
    finally:
        proc.terminate()
        proc.wait(10)
