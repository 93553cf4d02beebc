"""A real Mosquitto from the generated TLS/ACL config: no station speaks or listens for another."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest

from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from hub.broker_admin import BrokerAdmin
from hub.settings import HubSettings
from provisioning.acl import Access, allowed, dynsec_commands, dynsec_config
from provisioning.mosquitto import MESSAGE_SIZE_LIMIT
from provisioning.pki import StationCA
from tests.provisioning.pki import (
    HUB_ID,
    Client,
    TlsMosquitto,
    expired_now,
    station_files,
    write_broker_files,
)

EVENTS_A = "puente/v1/U1/st-a/events"
EVENTS_B = "puente/v1/U1/st-b/events"
RECEIPTS_A = "puente/v1/U1/st-a/receipts"
RECEIPTS_B = "puente/v1/U1/st-b/receipts"


def _hub(broker: TlsMosquitto, ca: StationCA, tmp: Path) -> Client:
    key, issued = ca.issue_service("puente-hub")
    (tmp / "hub-key.pem").write_bytes(key)
    (tmp / "hub-cert.pem").write_bytes(issued.pem)
    from tests.provisioning.pki import ClientFiles

    hub = Client(
        broker.port, broker.files.ca, ClientFiles(tmp / "hub-cert.pem", tmp / "hub-key.pem"), "hub"
    )
    assert hub.connect()
    return hub


def _wait(pred, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def test_station_a_cannot_publish_as_b_nor_read_bs_receipts(
    tls_mosquitto: TlsMosquitto, ca: StationCA, tmp_path: Path
) -> None:
    hub = _hub(tls_mosquitto, ca, tmp_path)
    assert hub.subscribe("puente/v1/+/+/events") == [1]
    a = Client(tls_mosquitto.port, tls_mosquitto.files.ca, station_files(ca, tmp_path, "st-a"), "a")
    assert a.connect()
    # The dynamic-security plugin refuses the SUBSCRIBE itself (0x80), and nothing of B's
    # would arrive anyway (each delivery is checked too).
    assert a.subscribe(RECEIPTS_A) == [1]
    assert a.subscribe(RECEIPTS_B) == [0x80]
    assert a.subscribe("puente/v1/U1/+/receipts") == [0x80]
    hub.publish(RECEIPTS_B, b"for-b")
    hub.publish(RECEIPTS_A, b"for-a")
    assert _wait(lambda: len(a.messages) >= 1)
    time.sleep(0.3)
    assert a.messages == [(RECEIPTS_A, b"for-a")]
    # Publishing as B: never delivered (Mosquitto 2.0 also drops the forger's connection when
    # its queues are unbounded; with the bounded queues production runs it need not).
    a.publish(EVENTS_B, b"forged")
    a.disconnected.wait(1.0)  # a denied publish: dropped, or the connection cut
    time.sleep(0.5)
    assert hub.messages == []
    own = Client(
        tls_mosquitto.port, tls_mosquitto.files.ca, station_files(ca, tmp_path, "st-a2"), "a2"
    )
    assert own.connect()
    own.publish("puente/v1/U1/st-a2/events", b"own")
    assert _wait(lambda: len(hub.messages) >= 1)
    assert hub.messages == [("puente/v1/U1/st-a2/events", b"own")]
    own.close()
    a.close()
    hub.close()


def test_station_cannot_publish_under_another_unit_with_its_own_id(
    tls_mosquitto: TlsMosquitto, ca: StationCA, tmp_path: Path
) -> None:
    hub = _hub(tls_mosquitto, ca, tmp_path)
    assert hub.subscribe("puente/v1/+/+/#") == [1]
    # st-u2 belongs to unit U2: its own id under U1 is someone else's prefix.
    station = Client(
        tls_mosquitto.port,
        tls_mosquitto.files.ca,
        station_files(ca, tmp_path, "st-u2", unit_id="U2"),
        "u2",
    )
    assert station.connect()
    station.publish("puente/v1/U2/st-u2/events", b"own-unit")
    assert _wait(lambda: len(hub.messages) >= 1)
    station.publish("puente/v1/U1/st-u2/events", b"other-unit")
    station.disconnected.wait(1.0)  # a denied publish: dropped, or the connection cut
    time.sleep(0.5)
    assert hub.messages == [("puente/v1/U2/st-u2/events", b"own-unit")]
    station.close()
    hub.close()


def test_a_station_unknown_to_the_acl_gets_nothing(
    tls_mosquitto: TlsMosquitto, ca: StationCA, tmp_path: Path
) -> None:
    """A valid certificate is not enough: the hub names each enrolled station in the ACL."""
    hub = _hub(tls_mosquitto, ca, tmp_path)
    assert hub.subscribe("puente/v1/+/+/#") == [1]
    stranger = Client(
        tls_mosquitto.port, tls_mosquitto.files.ca, station_files(ca, tmp_path, "st-x"), "x"
    )
    assert stranger.connect()
    stranger.publish("puente/v1/U1/st-x/events", b"unlisted")
    stranger.disconnected.wait(1.0)  # a denied publish: dropped, or the connection cut
    time.sleep(0.3)
    assert hub.messages == []
    hub.close()


def test_revoked_station_cannot_connect_after_crl_reload(
    tls_mosquitto: TlsMosquitto, ca: StationCA, tmp_path: Path
) -> None:
    files = station_files(ca, tmp_path, "st-r")
    first = Client(tls_mosquitto.port, tls_mosquitto.files.ca, files, "r1")
    assert first.connect()
    first.close()
    from cryptography import x509

    serial = x509.load_pem_x509_certificate(files.cert.read_bytes()).serial_number
    write_broker_files(ca, tls_mosquitto.files, revoked=[serial], denied=["st-r"])
    tls_mosquitto.reload()
    time.sleep(1.0)
    again = Client(tls_mosquitto.port, tls_mosquitto.files.ca, files, "r2")
    assert again.connect(timeout=3) is False
    other = Client(
        tls_mosquitto.port, tls_mosquitto.files.ca, station_files(ca, tmp_path, "st-ok"), "ok"
    )
    assert other.connect()  # the CRL names only the revoked one
    other.close()


def test_certificate_from_another_ca_is_refused(
    tls_mosquitto: TlsMosquitto, tmp_path: Path
) -> None:
    forger = StationCA.create(tmp_path / "forger")
    forged = station_files(forger, tmp_path, "st-a")
    client = Client(tls_mosquitto.port, tls_mosquitto.files.ca, forged, "forged")
    assert client.connect(timeout=3) is False


def test_expired_certificate_is_refused(
    tls_mosquitto: TlsMosquitto, ca: StationCA, tmp_path: Path
) -> None:
    expired = station_files(ca, tmp_path, "st-old", now=expired_now(), days=1)
    client = Client(tls_mosquitto.port, tls_mosquitto.files.ca, expired, "old")
    assert client.connect(timeout=3) is False


def test_no_client_certificate_is_refused(tls_mosquitto: TlsMosquitto) -> None:
    client = Client(tls_mosquitto.port, tls_mosquitto.files.ca, None, "anon")
    assert client.connect(timeout=3) is False


def test_code_rules_agree_with_the_generated_acl() -> None:
    assert allowed("st-a", Access.PUBLISH, EVENTS_A)
    assert allowed("st-a", Access.PUBLISH, "puente/v1/U1/st-a/state")
    assert not allowed("st-a", Access.PUBLISH, EVENTS_B)
    assert not allowed("st-a", Access.PUBLISH, RECEIPTS_A)
    assert allowed("st-a", Access.SUBSCRIBE, RECEIPTS_A)
    assert allowed("st-a", Access.SUBSCRIBE, "puente/v1/U1/st-a/config")
    assert not allowed("st-a", Access.SUBSCRIBE, RECEIPTS_B)
    assert not allowed("st-a", Access.SUBSCRIBE, "puente/v1/U1/+/receipts")
    assert not allowed(None, Access.PUBLISH, EVENTS_A)
    assert allowed(HUB_ID, Access.SUBSCRIBE, "$share/hub/puente/v1/+/+/events")
    # With the registry's units, the unit level is fixed as in the generated ACL.
    units = {"st-a": "U1"}
    assert allowed("st-a", Access.PUBLISH, EVENTS_A, units)
    assert not allowed("st-a", Access.PUBLISH, "puente/v1/U2/st-a/events", units)
    assert not allowed("st-b", Access.PUBLISH, EVENTS_B, units)  # not in the registry
    assert allowed("st-a", Access.SUBSCRIBE, RECEIPTS_A, units.get)


def test_generated_roles_name_each_station_with_its_unit() -> None:
    config = dynsec_config([HUB_ID], {"st-b": "U2", "st-a": "U1"})
    assert config["defaultACLAccess"] == {
        "publishClientSend": False,
        "publishClientReceive": False,
        "subscribe": False,
        "unsubscribe": True,
    }
    clients = {c["username"]: [r["rolename"] for r in c["roles"]] for c in config["clients"]}
    assert clients == {HUB_ID: ["puente-hub"], "st-a": ["station:st-a"], "st-b": ["station:st-b"]}
    roles = {
        r["rolename"]: [(a["acltype"], a["topic"]) for a in r["acls"]] for r in config["roles"]
    }
    assert roles["station:st-b"] == [
        ("publishClientSend", "puente/v1/U2/st-b/events"),
        ("publishClientSend", "puente/v1/U2/st-b/state"),
        ("subscribeLiteral", "puente/v1/U2/st-b/receipts"),
        ("subscribeLiteral", "puente/v1/U2/st-b/config"),
        ("publishClientReceive", "puente/v1/U2/st-b/receipts"),
        ("publishClientReceive", "puente/v1/U2/st-b/config"),
    ]
    # Only the hub may take the shared subscription.
    shared = [r for r, acls in roles.items() if any(t.startswith("$share") for _, t in acls)]
    assert shared == ["puente-hub"]


def test_sync_deletes_unwanted_clients_and_remakes_cut_ones() -> None:
    commands = dynsec_commands(
        [HUB_ID],
        {"st-a": "U1", "st-b": "U1", "st-new": "U2"},
        present=[HUB_ID, "st-a", "st-b", "st-old"],
        cut=["st-a"],
    )
    seq = [(c["command"], c.get("username") or c.get("rolename")) for c in commands]
    assert ("deleteClient", HUB_ID) not in seq and ("createClient", HUB_ID) not in seq
    assert seq.index(("deleteClient", "st-a")) < seq.index(("createClient", "st-a"))
    assert ("deleteClient", "st-old") in seq and ("deleteRole", "station:st-old") in seq
    assert ("createRole", "station:st-new") in seq and ("createClient", "st-new") in seq
    assert not [c for c in seq if c[1] in ("st-b", "station:st-b")]  # in step: left alone


def _admin(tls: TlsMosquitto, ca: StationCA, tmp: Path) -> BrokerAdmin:
    key, issued = ca.issue_service("puente-hub")
    (tmp / "hub-key.pem").write_bytes(key)
    (tmp / "hub-cert.pem").write_bytes(issued.pem)
    settings = HubSettings(
        data_dir=tmp / "hub",
        broker_url=tls.url,
        tls_ca_file=tls.files.ca,
        tls_cert_file=tmp / "hub-cert.pem",
        tls_key_file=tmp / "hub-key.pem",
    )
    return BrokerAdmin(settings, timeout_s=60)


def _can_read_receipts(
    tls: TlsMosquitto, ca: StationCA, tmp: Path, station: str, unit: str
) -> bool:
    c = Client(tls.port, tls.files.ca, station_files(ca, tmp, station, unit_id=unit), station)
    assert c.connect()
    ok = c.subscribe(f"puente/v1/{unit}/{station}/receipts") == [1]
    c.close()
    return ok


NATIONAL = {f"st-{u:03d}-{n:02d}": f"U{u:03d}" for u in range(112) for n in range(40)}


def test_sync_against_a_national_fleet_sends_only_the_changes(
    tls_mosquitto: TlsMosquitto, ca: StationCA, tmp_path: Path
) -> None:
    """4 480 stations (112 units x 40) in the broker's state; a sync is a handful of commands
    (the plugin rewrites its whole file after each change, so thousands would take minutes)."""
    tls_mosquitto.stop()
    write_broker_files(ca, tls_mosquitto.files, stations=NATIONAL)
    tls_mosquitto.start()
    wanted = {k: v for k, v in NATIONAL.items() if k != "st-000-00"} | {"st-a": "U1"}
    commands = dynsec_commands([HUB_ID], wanted, [HUB_ID, *NATIONAL], cut=["st-111-39"])
    assert len(commands) == 2 + 2 + 4 + 2  # defaults + hub role; st-000-00 out; st-111-39 cut; st-a
    started = time.monotonic()
    _admin(tls_mosquitto, ca, tmp_path).sync([HUB_ID], wanted, cut=["st-111-39"])
    print(f"sync of 4480 stations, 3 changes: {time.monotonic() - started:.2f}s")
    assert _can_read_receipts(tls_mosquitto, ca, tmp_path, "st-a", "U1")
    assert _can_read_receipts(tls_mosquitto, ca, tmp_path, "st-111-39", "U111")
    assert not _can_read_receipts(tls_mosquitto, ca, tmp_path, "st-000-00", "U000")


def test_many_missing_stations_go_in_slices_under_the_payload_limit(
    tls_mosquitto: TlsMosquitto, ca: StationCA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broker that lost its state gets every station back, one slice per message: the
    national fleet's commands are 3.7 MB, past the broker's 1 MiB limit. Scaled down here
    (the plugin rewrites its file after each change): 150 stations against a 64 KiB limit."""
    assert len(json.dumps(dynsec_commands([HUB_ID], NATIONAL))) > MESSAGE_SIZE_LIMIT
    tls_mosquitto.stop()
    conf = tls_mosquitto.conf.read_text()
    small = conf.replace(f"message_size_limit {MESSAGE_SIZE_LIMIT}", "message_size_limit 65536")
    assert small != conf
    tls_mosquitto.conf.write_text(small)
    tls_mosquitto.start()
    monkeypatch.setattr("hub.broker_admin.COMMANDS_PER_MESSAGE", 40)  # 200 (~165 KB) at 1 MiB
    some = dict(list(NATIONAL.items())[:150])
    assert len(json.dumps(dynsec_commands([HUB_ID], some))) > 65536
    _admin(tls_mosquitto, ca, tmp_path).sync([HUB_ID], some)
    assert _can_read_receipts(tls_mosquitto, ca, tmp_path, "st-000-00", "U000")
    assert _can_read_receipts(tls_mosquitto, ca, tmp_path, "st-003-29", "U003")


def test_an_agent_the_broker_does_not_know_says_so(
    tls_mosquitto: TlsMosquitto, ca: StationCA, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Its receipts subscription is refused: the agent logs an error instead of re-sending
    in silence (it subscribes again on each reconnect, so it recovers once allowed)."""
    files = station_files(ca, tmp_path, "st-x")
    settings = AgentSettings(
        station_id="st-x",
        unit_id="U1",
        data_dir=tmp_path / "agent",
        broker_url=tls_mosquitto.url,
        tls_ca_file=tls_mosquitto.files.ca,
        tls_cert_file=files.cert,
        tls_key_file=files.key,
        http_port=0,
        grpc_port=0,
        reconnect_min_s=0.2,
        reconnect_max_s=0.5,
    )
    agent = AgentService(settings)
    with caplog.at_level(logging.ERROR, logger="edge_agent.uplink"):
        agent.start()
        try:
            assert _wait(
                lambda: any(
                    "refused the receipts/config" in r.getMessage() for r in caplog.records
                ),
                timeout=10,
            )
        finally:
            agent.stop()


def test_a_station_cannot_command_the_plugin_nor_subscribe_widely(
    tls_mosquitto: TlsMosquitto, ca: StationCA, tmp_path: Path
) -> None:
    a = Client(tls_mosquitto.port, tls_mosquitto.files.ca, station_files(ca, tmp_path, "st-a"), "a")
    assert a.connect()
    for topic in ("#", "$SYS/#", "$CONTROL/#", "$share/hub/#", "puente/v1/U1/st-a/#"):
        assert a.subscribe(topic) == [0x80], topic
    # Granting itself the hub's subscription through the plugin: refused, connection closed.
    grant = {
        "commands": [
            {
                "command": "addRoleACL",
                "rolename": "station:st-a",
                "acltype": "subscribePattern",
                "topic": "$share/hub/#",
                "allow": True,
            }
        ]
    }
    a.c.publish("$CONTROL/dynamic-security/v1", json.dumps(grant), qos=1)
    a.disconnected.wait(1.0)  # a denied publish: dropped, or the connection cut
    a.close()
    again = Client(
        tls_mosquitto.port, tls_mosquitto.files.ca, station_files(ca, tmp_path, "st-a"), "a2"
    )
    assert again.connect()
    assert again.subscribe("$share/hub/puente/v1/+/+/events") == [0x80]
    again.close()
