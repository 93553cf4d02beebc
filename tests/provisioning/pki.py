"""A test PKI made by the provisioning code, and a Mosquitto started from the generated config."""

from __future__ import annotations

import json
import os
import ssl
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric import ec
from paho.mqtt.enums import CallbackAPIVersion

from provisioning.acl import dynsec_config
from provisioning.mosquitto import BrokerFiles, mosquitto_conf
from provisioning.pki import StationCA, key_pem, make_csr, write_private
from tests.brokers import Mosquitto

HUB_ID = "hub:puente-hub"


@dataclass(frozen=True)
class ClientFiles:
    cert: Path
    key: Path


def station_files(
    ca: StationCA,
    directory: Path,
    station_id: str,
    unit_id: str = "U1",
    now: datetime | None = None,
    days: int = 825,
) -> ClientFiles:
    """A station key made here and its certificate from the CA (via a CSR, as enrollment does)."""
    key = ec.generate_private_key(ec.SECP256R1())
    issued = ca.sign_csr(make_csr(key), station_id, unit_id, days=days, now=now)
    files = ClientFiles(directory / f"{station_id}-cert.pem", directory / f"{station_id}-key.pem")
    files.cert.write_bytes(issued.pem)
    write_private(files.key, key_pem(key))
    return files


# The stations the tests' broker knows (as the hub's ACL names each enrolled station).
STATIONS = {"st-a": "U1", "st-b": "U1", "st-a2": "U1", "st-r": "U1", "st-ok": "U1", "st-u2": "U2"}


def write_broker_files(
    ca: StationCA,
    files: BrokerFiles,
    revoked: list[int] = (),  # type: ignore[assignment]
    denied: list[str] = (),  # type: ignore[assignment]
    stations: dict[str, str] | None = None,
) -> None:
    files.directory.mkdir(parents=True, exist_ok=True)
    files.ca.write_bytes(ca.pem)
    files.crl.write_bytes(ca.crl([(s, datetime.now(UTC)) for s in revoked]))
    allowed = {
        s: u for s, u in (STATIONS if stations is None else stations).items() if s not in denied
    }
    # Read by the broker at start only; later changes go through the plugin's commands.
    files.dynsec.write_text(json.dumps(dynsec_config([HUB_ID], allowed)))


class TlsMosquitto(Mosquitto):
    """Mosquitto whose whole config is what provisioning generates (plus test persistence)."""

    def __init__(self, workdir: Path, ca: StationCA) -> None:
        super().__init__(workdir)
        self.files = BrokerFiles(workdir / "broker")
        self.files.directory.mkdir(parents=True, exist_ok=True)
        key, issued = ca.issue_key_pair("localhost", server_names=["127.0.0.1", "localhost"])
        write_private(self.files.key, key)
        self.files.cert.write_bytes(issued.pem)
        write_broker_files(ca, self.files)
        self.conf.write_text(
            mosquitto_conf(
                self.files,
                port=self.port,
                bind="127.0.0.1",
                # As root Mosquitto would drop to its own user, who cannot read pytest's tmp.
                user="root" if os.geteuid() == 0 else None,
            )
        )

    @property
    def url(self) -> str:
        return f"mqtts://127.0.0.1:{self.port}"

    def reload(self) -> None:
        import signal

        assert self.proc is not None
        self.proc.send_signal(signal.SIGHUP)


class Client:
    """A raw MQTT client with a certificate; records what it receives and what happened."""

    def __init__(self, port: int, ca_file: Path, files: ClientFiles | None, client_id: str) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.connected = threading.Event()
        self.disconnected = threading.Event()
        self.refused: str | None = None
        self.error: Exception | None = None
        self.subacks: list[list[int]] = []
        self._suback = threading.Event()
        self.c = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv311,
        )
        self.c.tls_set(
            ca_certs=str(ca_file),
            certfile=str(files.cert) if files else None,
            keyfile=str(files.key) if files else None,
            cert_reqs=ssl.CERT_REQUIRED,
        )
        self.c.on_connect = self._on_connect
        self.c.on_disconnect = lambda *a: self.disconnected.set()
        self.c.on_message = lambda _c, _u, m: self.messages.append((m.topic, m.payload))
        self.c.on_subscribe = self._on_subscribe
        self.port = port

    def _on_connect(self, _c, _u, _f, reason, _p) -> None:  # type: ignore[no-untyped-def]
        if reason.is_failure:
            self.refused = str(reason)
        else:
            self.connected.set()

    def _on_subscribe(self, _c, _u, _mid, reasons, _p) -> None:  # type: ignore[no-untyped-def]
        self.subacks.append([r.value for r in reasons])
        self._suback.set()

    def connect(self, timeout: float = 10.0) -> bool:
        try:
            self.c.connect("127.0.0.1", self.port, 30)
        except (OSError, ssl.SSLError) as exc:
            self.error = exc
            return False
        self.c.loop_start()
        ok = self.connected.wait(timeout)
        return ok

    def subscribe(self, topic: str, timeout: float = 10.0) -> list[int]:
        self._suback.clear()
        self.c.subscribe(topic, qos=1)
        assert self._suback.wait(timeout)
        return self.subacks[-1]

    def publish(self, topic: str, payload: bytes) -> None:
        self.c.publish(topic, payload, qos=1).wait_for_publish(10)

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def expired_now() -> datetime:
    return datetime.now(UTC) - timedelta(days=30)
