"""`puente hub broker-config` writes a Mosquitto configuration that a real Mosquitto runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from provisioning.pki import StationCA, write_private
from tests.brokers import MOSQUITTO, free_port, wait_port
from tests.e2e.processes import write_toml
from tests.provisioning.pki import Client, ClientFiles, station_files


def test_broker_config_runs_in_a_real_mosquitto(tmp_path: Path) -> None:
    config = write_toml(tmp_path / "hub.toml", {"data_dir": str(tmp_path / "hub")})
    out, port = tmp_path / "broker", free_port()
    run_as = ["--run-as", "root"] if os.geteuid() == 0 else []
    argv = ["hub", "broker-config", "--out", str(out), "--port", str(port)]
    argv += ["--bind", "127.0.0.1", "--hostname", "127.0.0.1", *run_as, "--config", str(config)]
    done = subprocess.run(
        [sys.executable, "-m", "puente_cli.main", *argv],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "acl",
        "broker-cert.pem",
        "broker-key.pem",
        "ca.pem",
        "crl.pem",
        "mosquitto.conf",
    ]
    conf = (out / "mosquitto.conf").read_text()
    assert f"listener {port} 127.0.0.1" in conf
    assert f"crlfile {out / 'crl.pem'}" in conf and f"acl_file {out / 'acl'}" in conf
    assert "require_certificate true" in conf and "use_identity_as_username true" in conf
    assert "broker_dir" in done.stderr  # tells ops to point the hub at these files

    ca = StationCA.load_or_create(tmp_path / "hub" / "pki")  # the hub's own station CA
    key, issued = ca.issue_service("puente-hub")
    write_private(tmp_path / "hub-key.pem", key)
    (tmp_path / "hub-cert.pem").write_bytes(issued.pem)
    log = open(tmp_path / "mosquitto.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([MOSQUITTO, "-c", str(out / "mosquitto.conf")], stdout=log, stderr=log)
    try:
        wait_port(port)
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
