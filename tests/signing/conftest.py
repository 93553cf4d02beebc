"""Signing fixtures: a test PKI served by certomancer, SoftHSM2 tokens, a hub process, an agent."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from drivers.token.sim import SoftHsm, softhsm_module
from edge_agent.capabilities.signing.settings import SigningSettings
from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings, DeviceConfig
from tests.brokers import Mosquitto
from tests.e2e.processes import ORIGIN, Hub
from tests.grpc_apps import OPERATOR_PIN
from tests.signing.pki import PIN, SigningPki, make_pki

STATION, UNIT = "station-sign", "unit-sign"
# token label -> [(key id, PKI label)]
TOKENS = {
    "doctor": [
        ("01", "doctor-rsa"),
        ("02", "doctor-ec"),
        ("03", "expired-rsa"),
        ("04", "revoked-rsa"),
        ("05", "revoked-crl-rsa"),
        ("06", "offline-rsa"),
        ("07", "offline-revoked-rsa"),
    ],
    "director": [("01", "director-ec"), ("02", "director-rsa")],
}


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SigningPki]:
    pki = make_pki(tmp_path_factory.mktemp("pki")).start()
    root = pki.root
    (root / "root.pem").write_bytes(pki.root_pem)
    from tests.signing.pki import pem

    (root / "interm.pem").write_bytes(pem(pki.certs["interm"]))
    try:
        yield pki
    finally:
        pki.stop()


@pytest.fixture(scope="session")
def hsm(tmp_path_factory: pytest.TempPathFactory, pki: SigningPki) -> SoftHsm:
    if softhsm_module() is None:
        pytest.fail("SoftHSM2 is not installed: run scripts/test, which installs softhsm2")
    hsm = SoftHsm(tmp_path_factory.mktemp("softhsm"))
    for label, keys in TOKENS.items():
        hsm.init_token(label, PIN)
        for key_id, pki_label in keys:
            hsm.import_key(label, PIN, pki.keys[pki_label], key_id, pki_label)
            hsm.import_certificate(label, PIN, pki.certs[pki_label], key_id, pki_label)
    hsm.activate()
    return hsm


@pytest.fixture
def sign_hub(tmp_path: Path, mosquitto: Mosquitto, pki: SigningPki) -> Iterator[Hub]:
    hub = Hub(
        tmp_path / "hub",
        mosquitto.url,
        secrets.token_urlsafe(24),
        signature_trust_roots=[str(pki.root / "root.pem")],
        signature_poll_s=0.2,
    ).start()
    try:
        hub.register_station(STATION, UNIT)
        yield hub
    finally:
        hub.stop()


@dataclass
class Station:
    agent: AgentService
    hub: Hub
    hsm: SoftHsm
    pki: SigningPki

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.agent.http_url, headers={"Origin": ORIGIN}, timeout=60)

    def consent_client(self) -> httpx.Client:
        """What the consent page's own script sends: the agent's own origin."""
        url = self.agent.http_url
        return httpx.Client(base_url=url, headers={"Origin": url}, timeout=60)


def _station_token(hub: Hub) -> str:
    with hub.api() as api:
        response = api.post("/v1/tokens", json={"name": STATION, "role": "station"})
        assert response.status_code == 201, response.text
        return str(response.json()["token"])


def make_station(
    tmp_path: Path,
    mosquitto: Mosquitto,
    hub: Hub,
    hsm: SoftHsm,
    pki: SigningPki,
    token_idle_s: float = 0,
    **signing: object,
) -> AgentService:
    values: dict[str, object] = {
        "tsa_url": None,
        "trust_roots": [pki.root / "root.pem"],
        "chain_certs": [pki.root / "interm.pem"],
    }
    values.update(signing)
    settings = AgentSettings(
        station_id=STATION,
        unit_id=UNIT,
        data_dir=tmp_path / "agent",
        broker_url=mosquitto.url,
        http_port=0,
        grpc_port=0,
        allowed_origins=[ORIGIN],
        hub_url=hub.url,
        hub_token=_station_token(hub),
        devices=[
            DeviceConfig(
                device_id="token-1",
                driver="pkcs11",
                options={"module": hsm.module, "idle_s": token_idle_s, "poll_s": 0.3},
            )
        ],
        device_poll_s=0.3,
        signing=SigningSettings(**values),  # type: ignore[arg-type]
    )
    agent = AgentService(settings)
    agent.operator_pin.set(OPERATOR_PIN)  # what ops set up at the station
    agent.start()
    assert agent.wait_ready(20)
    return agent


@pytest.fixture
def station(
    tmp_path: Path, mosquitto: Mosquitto, sign_hub: Hub, hsm: SoftHsm, pki: SigningPki
) -> Iterator[Station]:
    agent = make_station(tmp_path, mosquitto, sign_hub, hsm, pki)
    try:
        yield Station(agent, sign_hub, hsm, pki)
    finally:
        agent.stop()
