"""Right patient, right time: monitors push when they like; only the take's readings reach the case.

Real processes: Mosquitto, the hub, the agent. A PCD-01 gateway sends ORU^R01 over MLLP on
a real socket to the agent's HL7 listener; a Nonin oximeter writes its ASCII on a pty.
Readings of another patient, from before the take, stale or pushed while no take runs end
in the station's unassigned-readings inbox; the unreadable rows of the take's own message
are answered AE with located ERR segments and shown on the hub's case as rejected; a
person assigns one inbox entry to the case (the hub shows who) and discards another.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import hl7
import httpx
import pytest

from drivers.vitals.ptysim import PtyPort
from drivers.vitals.simulators import nonin as nonin_sim
from drivers.vitals.simulators.hl7_pcd01 import send_mllp
from protos import vitals_pb2, vitals_pb2_grpc
from tests.brokers import Mosquitto, free_port, wait_port
from tests.e2e.processes import ORIGIN, Agent, Hub, wait_until

pytestmark = pytest.mark.e2e

UNIT = "unit-e2e"
STATION = "coex-zona9-1"
CASE = "CASE-VS-1"
PATIENT = "1234567890101"
WEB = {"Origin": ORIGIN}


def oru(
    control_id: str,
    rows: list[str],
    at: datetime,
    patient_id: str = PATIENT,
    name: str = "Pérez^Ana",
) -> str:
    ts = at.astimezone(UTC).strftime("%Y%m%d%H%M%S+0000")
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")
    segments = [
        f"MSH|^~\\&|ACME GW^0123456789ABCDEF^EUI-64|SALA 3|||{now}||ORU^R01^ORU_R01|{control_id}"
        "|P|2.6|||NE|AL||||||IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO",
        f"PID|||{patient_id}^^^IGSS^PI||{name}",
        f"OBR|1|{control_id}^ACME^0123456789ABCDEF^EUI-64||182777000^monitoring of patient^SCT"
        f"|||{ts}",
    ]
    segments += [f"OBX|{i}|{row}|||||R|||{ts}" for i, row in enumerate(rows, 1)]
    return "\r".join(segments) + "\r"


def spo2(value: int) -> str:
    return f"NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.150456|{value}|262688^MDC_DIM_PERCENT^MDC|"


def msa_and_errs(ack: str) -> tuple[str, list[str]]:
    msg = hl7.parse(ack)
    found = [
        f"{e(2)} {e.extract_field(1, 3, 1, 1)} {e(4)} {e(5)(1)(1)}"
        for e in (s for s in msg if str(s[0]) == "ERR")
    ]
    return str(msg.segment("MSA")(1)), found


@pytest.fixture
def station(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[tuple[Hub, Agent, int, PtyPort]]:
    hub = Hub(tmp_path / "hub", mosquitto.url, secrets.token_urlsafe(24)).start()
    mllp_port = free_port()
    pty = PtyPort(tmp_path / "ttyUSB-nonin")
    agent = Agent(
        tmp_path / STATION,
        STATION,
        UNIT,
        mosquitto.url,
        device_poll_s=0.5,
        vitals={"start_tolerance_s": 2.0, "max_age_s": 300.0, "inbox_sweep_s": 0.2},
    )
    with agent.config.open("a") as f:
        f.write(
            '[[devices]]\ndevice_id = "gateway-1"\ndriver = "hl7.pcd01.mllp"\n'
            f'[devices.options]\nhost = "127.0.0.1"\nport = {mllp_port}\n'
            '[[devices]]\ndevice_id = "oximeter-1"\ndriver = "nonin.ascii"\n'
            f'[devices.options]\nport = "{pty.link}"\nbaudrate = 9600\n'
        )
    try:
        hub.register_station(STATION, UNIT)
        with hub.api() as api:
            r = api.post(
                "/v1/cases", json={"case_id": CASE, "patient_id": PATIENT, "unit_id": UNIT}
            )
            assert r.status_code == 201, r.text
        agent.start()
        wait_port(mllp_port)
        yield hub, agent, mllp_port, pty
    finally:
        pty.stop()
        agent.stop()
        hub.stop()


def inbox(agent: Agent, **params: str) -> dict[str, Any]:
    r = httpx.get(f"{agent.url}/v1/vitals/inbox", params=params, headers=WEB, timeout=5)
    assert r.status_code == 200, r.text
    return dict(r.json())


def values(entry: dict[str, Any]) -> list[float]:
    return [r["value"] for r in entry["readings"]]


def test_only_the_takes_own_readings_reach_the_case_the_rest_wait_in_the_inbox(
    station: tuple[Hub, Agent, int, PtyPort],
) -> None:
    hub, agent, port, pty = station

    # 1. Pushed while no take runs: an MLLP message and a Nonin line go to the inbox.
    [ack] = send_mllp("127.0.0.1", port, [oru("IDLE1", [spo2(84)], datetime.now(UTC))])
    assert msa_and_errs(ack) == ("AA", [])
    pty.write(nonin_sim.encode_line(93, 71))
    wait_until(
        lambda: {e["device_id"] for e in inbox(agent)["entries"]} == {"gateway-1", "oximeter-1"},
        10,
        "both devices' readings in the inbox",
    )
    idle = {e["device_id"]: e for e in inbox(agent)["entries"]}
    assert idle["gateway-1"]["reason_code"] == "no_take"
    assert values(idle["gateway-1"]) == [84.0]
    assert idle["oximeter-1"]["reason_code"] == "no_take"
    assert sorted(values(idle["oximeter-1"])) == [71.0, 93.0]

    # 2. A take on the gateway for the case.
    result: dict[str, Any] = {}

    def take() -> None:
        result["r"] = httpx.post(
            f"{agent.url}/v1/vitals/take",
            json={
                "device_id": "gateway-1",
                "case_id": CASE,
                "patient_id": PATIENT,
                "patient_name": "Perez^Ana",
                "timeout_s": 4,
            },
            headers=WEB,
            timeout=20,
        )

    taker = threading.Thread(target=take)
    taker.start()
    wait_until(lambda: inbox(agent)["claims"], 10, "the take to claim the gateway")
    started = datetime.fromisoformat(inbox(agent)["claims"][0]["started_at"])
    now = datetime.now(UTC)
    answers = send_mllp(
        "127.0.0.1",
        port,
        [
            # another patient on the monitor
            oru("WRONG1", [spo2(81)], now, patient_id="9999999999999", name="Gómez^Luis"),
            # measured a minute before the take started
            oru("EARLY1", [spo2(82)], started - timedelta(seconds=60)),
            # an hour old (max_age_s 300)
            oru("OLD1", [spo2(83)], now - timedelta(hours=1)),
            # the take's own message, with every kind of unreadable row and a lone systolic
            oru(
                "TAKE1",
                [
                    spo2(97),
                    "NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.1.1.149530|abc|"
                    "264864^MDC_DIM_BEAT_PER_MIN^MDC|",
                    "NM|188736^MDC_MASS_BODY_ACTUAL^MDC|1.1.1.188736|70|263875^MDC_DIM_KILO_G^MDC|",
                    "NM|150364^MDC_TEMP_BODY^MDC|1.1.1.150364|36.8|266016^MDC_DIM_MMHG^MDC|",
                    "NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC|1.1.2.1|120|266016^MDC_DIM_MMHG^MDC|",
                ],
                now,
            ),
        ],
    )
    taker.join(30)
    assert [msa_and_errs(a) for a in answers[:3]] == [("AA", [])] * 3
    assert msa_and_errs(answers[3]) == (
        "AE",
        [
            "OBX^2^5 102 E not_a_number",
            "OBX^3^3 103 E unknown_code",
            "OBX^4^6 103 E unknown_unit",
            "OBX^5^3 101 W bp_incomplete",
        ],
    )
    r = result["r"]
    assert r.status_code == 201, r.text
    body = r.json()
    assert sorted((x["mdc_code"], x["value"]) for x in body["readings"]) == [
        (150021, 120.0),
        (150456, 97.0),
    ]
    assert sorted(x["reason_code"] for x in body["rejected"]) == [
        "not_a_number",
        "unknown_code",
        "unknown_unit",
    ]

    # 3. The inbox holds the other three, each with its reason; the old one flagged.
    pending = {e["message_id"]: e for e in inbox(agent)["entries"] if e["message_id"]}
    assert {k: e["reason_code"] for k, e in pending.items()} == {
        "IDLE1": "no_take",
        "WRONG1": "patient_mismatch",
        "EARLY1": "before_start",
        "OLD1": "stale",
    }
    assert pending["OLD1"]["readings"][0]["flags"] == ["stale"]
    assert pending["WRONG1"]["patient_ids"] == ["9999999999999"]
    # Native station software sees the same over gRPC (read only).
    listed = vitals_pb2_grpc.VitalsStub(agent.channel()).ListUnassigned(
        vitals_pb2.ListUnassignedRequest(device_id="gateway-1"), timeout=10
    )
    assert {e.message_id: e.reason_code for e in listed.entries} == {
        k: e["reason_code"] for k, e in pending.items()
    }
    assert [r.value for e in listed.entries if e.message_id == "WRONG1" for r in e.readings] == [
        81.0
    ]

    # 4. The hub's case has the take's readings and its rejections, nothing else.
    def case_vitals() -> dict[str, Any]:
        with hub.api() as api:
            return dict(api.get(f"/v1/cases/{CASE}/vitals").json())

    wait_until(lambda: len(case_vitals()["rejected"]) == 3, 15, "the take at the hub")
    vitals = case_vitals()
    shown = {k: [x["value"] for x in v] for k, v in vitals["parameters"].items()}
    assert shown == {"spo2": [97.0], "bp_systolic": [120.0]}
    assert vitals["parameters"]["bp_systolic"][0]["flags"] == ["bp_incomplete"]
    assert sorted(x["reason_code"] for x in vitals["rejected"]) == [
        "not_a_number",
        "unknown_code",
        "unknown_unit",
    ]
    assert any("'abc'" in x["reason"] for x in vitals["rejected"])

    # 5. Deciding is for the station's own page or a local program, not a web page.
    early = pending["EARLY1"]["entry_id"]
    assign = {"case_id": CASE, "patient_id": PATIENT, "assigned_by": "Enf. María López"}
    r = httpx.post(
        f"{agent.url}/v1/vitals/inbox/{early}/assign", json=assign, headers=WEB, timeout=10
    )
    assert r.status_code == 403, r.text
    own = {"Origin": agent.url}
    r = httpx.post(
        f"{agent.url}/v1/vitals/inbox/{early}/assign", json=assign, headers=own, timeout=10
    )
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["decided_by"]) == ("assigned", "Enf. María López")
    r = httpx.post(
        f"{agent.url}/v1/vitals/inbox/{early}/assign", json=assign, headers=own, timeout=10
    )
    assert r.status_code == 409, r.text  # never recorded twice
    wrong = pending["WRONG1"]["entry_id"]
    r = httpx.post(
        f"{agent.url}/v1/vitals/inbox/{wrong}/discard",
        json={"discarded_by": "Enf. María López", "note": "otro paciente"},
        headers=own,
        timeout=10,
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "discarded"

    wait_until(lambda: len(case_vitals()["parameters"]["spo2"]) == 2, 15, "the assigned reading")
    assigned = [x for x in case_vitals()["parameters"]["spo2"] if x["mode"] == "assigned"]
    assert [(x["value"], x["assigned_by"]) for x in assigned] == [(82.0, "Enf. María López")]

    audit = httpx.get(f"{agent.url}/v1/audit?limit=100", headers=own, timeout=5).json()
    decisions = [(a["decision"], a.get("entry_id"), a.get("by")) for a in audit]
    assert ("vitals_assigned", early, "Enf. María López") in decisions
    assert ("vitals_discarded", wrong, "Enf. María López") in decisions
    assert [e["message_id"] for e in inbox(agent)["entries"] if e["message_id"]] == [
        "OLD1",
        "IDLE1",
    ]

    # 6. A telemedicine stream claims the gateway the same way.
    r = httpx.post(
        f"{agent.url}/v1/vitals/sessions",
        json={"device_id": "gateway-1", "case_id": CASE, "patient_id": PATIENT},
        headers=WEB,
        timeout=10,
    )
    assert r.status_code == 201, r.text
    session_id = r.json()["session_id"]
    wait_until(lambda: inbox(agent)["claims"], 10, "the stream to claim the gateway")
    now = datetime.now(UTC)
    answers = send_mllp(
        "127.0.0.1",
        port,
        [
            oru("S-WRONG", [spo2(79)], now, patient_id="9999999999999"),
            oru("S-OK", [spo2(96)], now),
        ],
    )
    assert [msa_and_errs(a) for a in answers] == [("AA", [])] * 2
    wait_until(
        lambda: any(x["value"] == 96.0 for x in case_vitals()["parameters"]["spo2"]),
        15,
        "the stream's reading at the hub",
    )
    r = httpx.post(
        f"{agent.url}/v1/vitals/sessions/{session_id}/stop", json={}, headers=WEB, timeout=10
    )
    assert r.status_code == 200, r.text
    streamed = [x for x in case_vitals()["parameters"]["spo2"] if x["mode"] == "stream"]
    assert [x["value"] for x in streamed] == [96.0]
    assert {e["message_id"]: e["reason_code"] for e in inbox(agent)["entries"] if e["message_id"]}[
        "S-WRONG"
    ] == "patient_mismatch"
    assert inbox(agent)["claims"] == []
