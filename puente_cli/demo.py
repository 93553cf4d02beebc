"""``puente demo``: the whole pipeline on one PC — embedded broker, hub, one agent, a sample case.

Embedded defaults only: SQLite files under the data dir and amqtt in-process.
"""

from __future__ import annotations

import secrets
import signal
import threading
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from drivers.scanner.escl_sim import EsclSimulator
from drivers.vitals.ptysim import PtyPort, repeat
from drivers.vitals.simulators import nonin_binary as nonin_binary_sim
from edge_agent.identity import StationIdentity
from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings, DeviceConfig
from hub.service import HubService
from hub.settings import HubSettings
from puente_cli.embedded_broker import EmbeddedBroker

UNIT_ID = "igss-demo-unit"
STATION_ID = "coex-demo-01"
CASE_ID = "COEX-DEMO-0001"
PATIENT_ID = "1234567890101"  # affiliation number (número de afiliación), fictitious
ORIGIN = "http://localhost:5173"  # the demo's stand-in for the clinical web app
DEMO_CLINICIAN = "demo-clinician"  # the console's demo user (role clinician)
DEMO_OPS = "demo-ops"  # the ops console's demo user
HUB_IDENTITY = "hub:demo"  # the hub's MQTT username (':' marks a service, never a station)

console = Console()


def _demo_token(data_dir: Path) -> str:
    path = data_dir / "demo-ops-token"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _ensure_station(hub: httpx.Client, agent_dir: Path) -> None:
    response = hub.post("/v1/stations", json={"station_id": STATION_ID, "unit_id": UNIT_ID})
    if response.status_code not in (200, 201, 409):
        response.raise_for_status()
    # The station's attestation key (made on the PC, only its public half leaves).
    identity = StationIdentity.load_or_create(agent_dir)
    hub.put(
        f"/v1/stations/{STATION_ID}/key", json={"public_key_pem": identity.public_key_pem}
    ).raise_for_status()


def _open_case(hub: httpx.Client) -> None:
    response = hub.post(
        "/v1/cases",
        json={
            "case_id": CASE_ID,
            "patient_id": PATIENT_ID,
            "unit_id": UNIT_ID,
            # A made-up patient: who the case is about, shown on the console (issue 17).
            "patient_name": "Paciente de Demostración",
            "sex": "female",
            "birth_date": "1985-03-14",
        },
    )
    if response.status_code not in (200, 201):
        response.raise_for_status()


def _start_oximeter(data_dir: Path) -> PtyPort:
    """A Nonin oximeter on a pseudo-terminal, sending data format #2 (3 packets a second)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = PtyPort(data_dir / "ttyNONIN")
    port.play(
        repeat(lambda i: nonin_binary_sim.encode_packet(97 if i % 9 else 96, 72 + (i // 3) % 2)),
        interval_s=1 / 3,
    )
    return port


def _station_token(hub: httpx.Client, data_dir: Path) -> str:
    """The station's own hub token (role station): bodies and fingerprint templates."""
    path = data_dir / "demo-station-token"
    if not path.exists():
        response = hub.post("/v1/tokens", json={"name": STATION_ID, "role": "station"})
        response.raise_for_status()
        path.write_text(str(response.json()["token"]))
        path.chmod(0o600)
    return path.read_text().strip()


def _agent_post(agent_url: str, path: str, body: dict, timeout_s: float = 60) -> dict:
    response = httpx.post(
        f"{agent_url}{path}", json=body, headers={"Origin": ORIGIN}, timeout=timeout_s
    )
    response.raise_for_status()
    return dict(response.json())


def _sample_case(agent_url: str) -> list[str]:
    """What a morning at the clinic records: enrollment, admission, a scan, vital signs."""
    who = {"case_id": CASE_ID, "patient_id": PATIENT_ID}
    enrolled = _agent_post(
        agent_url,
        "/v1/fingerprint/enroll",
        {**who, "device_id": "reader-1", "finger": "RIGHT_INDEX"},
    )
    confirmed = _agent_post(
        agent_url, "/v1/fingerprint/verify", {**who, "device_id": "reader-1", "step": "admission"}
    )
    scanned = _agent_post(
        agent_url,
        "/v1/scans?wait=true",
        {
            **who,
            "device_id": "scanner-1",
            "document_type": "referral",
            "title": "Referencia / Referral",
            "source": "flatbed",
            "resolution_dpi": 150,
        },
    )
    return [
        str(enrolled["event_id"]),
        str(confirmed["event_id"]),
        str(scanned["result"]["event_id"]),
        _take_vitals(agent_url),
    ]


SAMPLE_KINDS = {"biometric_confirmation", "scanned_document", "vital_signs"}


def _earlier_sample(hub: httpx.Client) -> list[dict] | None:
    """The sample case's timeline if an earlier run already recorded its facts."""
    response = hub.get(f"/v1/cases/{CASE_ID}", params={"limit": 50})
    if response.status_code != 200:
        return None
    timeline = list(response.json()["timeline"])
    return timeline if {item["kind"] for item in timeline} >= SAMPLE_KINDS else None


def _start_stream(agent_url: str) -> str | None:
    """A telemedicine session on the simulated oximeter, so the live view and the central
    station have something to show while the demo runs."""
    response = httpx.post(
        f"{agent_url}/v1/vitals/sessions",
        json={"device_id": "monitor-1", "case_id": CASE_ID, "patient_id": PATIENT_ID},
        headers={"Origin": ORIGIN},
        timeout=30,
    )
    if response.status_code != 201:
        console.print(f"Telemedicine stream not started / transmisión no iniciada: {response.text}")
        return None
    return str(response.json()["session_id"])


def _stop_stream(agent_url: str, session_id: str) -> None:
    httpx.post(
        f"{agent_url}/v1/vitals/sessions/{session_id}/stop",
        json={},
        headers={"Origin": ORIGIN},
        timeout=10,
    )


def _take_vitals(agent_url: str) -> str:
    response = httpx.post(
        f"{agent_url}/v1/vitals/take",
        json={
            "device_id": "monitor-1",
            "case_id": CASE_ID,
            "patient_id": PATIENT_ID,
            "timeout_s": 10,
        },
        headers={"Origin": ORIGIN},
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["event_id"])


def _wait_on_case(hub: httpx.Client, event_ids: list[str], timeout_s: float = 60) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = hub.get(f"/v1/cases/{CASE_ID}", params={"limit": 50})
        if response.status_code == 200:
            timeline = response.json()["timeline"]
            if set(event_ids) <= {item["event_id"] for item in timeline}:
                return list(timeline)
        time.sleep(0.2)
    raise TimeoutError(
        f"events {event_ids} did not reach the hub in {timeout_s}s / los eventos no llegaron al hub"
    )


def _print_urls(
    hub_svc: HubService, agent: AgentService, broker: EmbeddedBroker, token: str
) -> None:
    rows = [
        ("Hub API docs / documentación del hub", f"{hub_svc.http_url}/docs"),
        (
            "Sample case (API, with the token) / caso de ejemplo (API, con el token)",
            f"{hub_svc.http_url}/v1/cases/{CASE_ID}",
        ),
        ("Hub ops token (Authorization: Bearer)", token),
        ("Agent status / estado del agente", f"{agent.http_url}/v1/status"),
        ("Agent API docs / documentación del agente", f"{agent.http_url}/docs"),
        ("Agent page: pairing, actions / página del agente", f"{agent.http_url}/ui/pairing"),
        ("Agent gRPC", agent.grpc_target),
        (
            "Operator PIN (approvals, simple signatures) / PIN del operador",
            "set / definido"
            if agent.operator_pin.is_set()
            else f"not set / sin definir: PUENTE_AGENT_STATION_ID={agent.settings.station_id} "
            f"PUENTE_AGENT_UNIT_ID={agent.settings.unit_id} "
            f"PUENTE_AGENT_DATA_DIR={agent.settings.data_dir} puente agent operator-pin",
        ),
        ("MQTT broker (embedded / embebido)", broker.url),
    ]
    console.rule("Puente demo")
    for label, value in rows:
        console.print(f"{label}: {value}", soft_wrap=True, highlight=False)


def _console_user(
    hub_svc: HubService, data_dir: Path, name: str = "", role: str = "clinician"
) -> tuple[str, str]:
    """A demo console user (password made once, kept in the data dir)."""
    import contextlib

    from hub.storage.base import Conflict
    from hub.web.auth import LocalUsers, WebRole

    name = name or DEMO_CLINICIAN
    path = data_dir / (
        "demo-clinician-password" if role == "clinician" else f"demo-{role}-password"
    )
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12))
        path.chmod(0o600)
    password = path.read_text().strip()
    with contextlib.suppress(Conflict):  # made by an earlier run with the same data dir
        LocalUsers(hub_svc.store).add(name, WebRole(role), password)
    return name, password


def _print_timeline(timeline: list[dict]) -> None:
    table = Table(title=f"Case / caso {CASE_ID} — patient / afiliado {PATIENT_ID}")
    for column in ("time / hora (UTC)", "kind / tipo", "device / dispositivo", "event_id"):
        table.add_column(column, no_wrap=True)
    for item in timeline:
        table.add_row(
            str(item["occurred_at"])[11:19],
            str(item["kind"]),
            str(item.get("device_id", "")),
            str(item["event_id"]),
        )
    console.print(table)


def run_demo(
    data_dir: Path,
    hub_port: int,
    agent_port: int,
    grpc_port: int,
    broker_port: int,
    exit_after_sample: bool,
) -> int:
    data_dir.mkdir(parents=True, exist_ok=True)
    token = _demo_token(data_dir)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    broker = EmbeddedBroker(broker_port)
    broker.start()
    hub_svc = HubService(
        HubSettings(
            data_dir=data_dir / "hub",
            broker_url=broker.url,
            shared_subscription=False,  # amqtt delivers nothing on $share topics
            # The embedded broker's sign-in (docs/provisioning.md, "The demo broker").
            mqtt_username=HUB_IDENTITY,
            mqtt_password=broker.access.password_for(HUB_IDENTITY),
            http_port=hub_port,
            bootstrap_token=token,
        )
    )
    agent: AgentService | None = None
    oximeter = _start_oximeter(data_dir)
    scanner = EsclSimulator(serial="SIM-ESCL-DEMO").start()
    try:
        hub_svc.start()
        hub_svc.wait_ready(30)
        hub = httpx.Client(
            base_url=hub_svc.http_url, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        _ensure_station(hub, data_dir / "agent")
        broker.access.allow_station(STATION_ID, UNIT_ID)
        hub_svc.fleet.on_cut.append(broker.cut)  # retiring ends the station's session now
        station_token = _station_token(hub, data_dir)
        agent = AgentService(
            AgentSettings(
                station_id=STATION_ID,
                unit_id=UNIT_ID,
                data_dir=data_dir / "agent",
                broker_url=broker.url,
                mqtt_username=STATION_ID,
                mqtt_password=broker.access.password_for(STATION_ID),
                http_port=agent_port,
                grpc_port=grpc_port,
                allowed_origins=[ORIGIN],
                hub_url=hub_svc.http_url,
                hub_token=station_token,
                fingerprint={"hub_url": hub_svc.http_url, "hub_token": station_token},
                devices=[
                    DeviceConfig(
                        device_id="monitor-1",
                        driver="nonin.format2",  # real protocol bytes from the pty below
                        options={"port": str(oximeter.link), "serial_number": "NONIN-DEMO-01"},
                    ),
                    DeviceConfig(  # synthetic fingerprints through the reader interface
                        device_id="reader-1", driver="sim.fingerprint", options={"seed": 11}
                    ),
                    DeviceConfig(  # a network scanner speaking eSCL over HTTP on loopback
                        device_id="scanner-1", driver="escl", options={"url": scanner.url}
                    ),
                ],
            )
        )
        agent.start()
        agent.wait_ready(30)
        _open_case(hub)
        earlier = _earlier_sample(hub)
        if earlier is not None:  # a run before on this data dir: its facts are there, once
            console.print(
                "Sample case already recorded by an earlier run; nothing added. / "
                "Caso de ejemplo ya registrado por una ejecución anterior; no se agrega nada."
            )
            timeline = earlier
        else:
            timeline = _wait_on_case(hub, _sample_case(agent.http_url))
        _print_urls(hub_svc, agent, broker, token)
        user, password = _console_user(hub_svc, data_dir)
        console.print(
            f"Clinician console / consola clínica: {hub_svc.http_url}/console/cases/{CASE_ID} "
            f"(user / usuario {user}, password / contraseña {password})",
            soft_wrap=True,
            highlight=False,
        )
        ops_user, ops_password = _console_user(hub_svc, data_dir, DEMO_OPS, "ops")
        console.print(
            f"Ops console / consola de operaciones: {hub_svc.http_url}/console/fleet "
            f"(user / usuario {ops_user}, password / contraseña {ops_password})",
            soft_wrap=True,
            highlight=False,
        )
        console.print(
            f"API docs / documentación de la API: {hub_svc.http_url}/docs",
            soft_wrap=True,
            highlight=False,
        )
        _print_timeline(timeline)
        if exit_after_sample:
            console.print("Sample case stored at the hub. / Caso de ejemplo guardado en el hub.")
            return 0
        session_id = _start_stream(agent.http_url)
        if session_id is not None:
            console.print(
                f"Live telemedicine / telemedicina en vivo: "
                f"{hub_svc.http_url}/console/cases/{CASE_ID}/live · "
                f"central station / central de monitoreo: {hub_svc.http_url}/console/central",
                soft_wrap=True,
                highlight=False,
            )
        console.print("Running; Ctrl-C stops everything. / En marcha; Ctrl-C detiene todo.")
        stop.wait()
        if session_id is not None:
            _stop_stream(agent.http_url, session_id)
        return 0
    finally:
        console.print("Stopping... / Deteniendo...")
        if agent is not None:
            agent.stop()
        oximeter.stop()
        scanner.stop()
        hub_svc.stop()
        broker.stop()
