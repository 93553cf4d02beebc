"""Signed confirmations verify at the hub and fail when altered or moved; USB discovery."""

from __future__ import annotations

from pathlib import Path

from drivers.base import Health
from drivers.fingerprint.usb_discovery import UsbReaderPort, scan
from edge_agent.identity import StationIdentity
from hub.biometrics import verify_confirmation
from protos import events_pb2
from protos.biometric_signing import SIGNATURE_ALGORITHM, canonical_bytes


def _signed(identity: StationIdentity) -> events_pb2.Event:
    event = events_pb2.Event(
        event_id="0190f7a0-0000-7000-8000-000000000001",
        station_id="st-1",
        unit_id="u1",
        device_id="reader-1",
        case_id="case-1",
        patient_id="pat-1",
    )
    event.occurred_at.FromSeconds(1_750_000_000)
    event.biometric_confirmation.CopyFrom(
        events_pb2.BiometricConfirmation(
            step="admission",
            finger=events_pb2.RIGHT_INDEX,
            quality=57,
            score=88.0,
            threshold=40.0,
            decision=events_pb2.MATCH,
            probe_template_sha256=b"\x01" * 32,
            signature_algorithm=SIGNATURE_ALGORITHM,
        )
    )
    event.biometric_confirmation.station_signature = identity.sign(canonical_bytes(event))
    return event


def test_a_signed_confirmation_verifies_and_any_change_breaks_it(tmp_path: Path) -> None:
    identity = StationIdentity.load_or_create(tmp_path)
    pem = identity.public_key_pem
    event = _signed(identity)
    assert verify_confirmation(event, pem).valid

    for change in (
        lambda e: setattr(e, "case_id", "case-2"),  # replayed onto another case
        lambda e: setattr(e, "patient_id", "pat-2"),
        lambda e: setattr(e, "event_id", "0190f7a0-0000-7000-8000-000000000002"),
        lambda e: e.occurred_at.FromSeconds(1_750_000_001),
        lambda e: setattr(e.biometric_confirmation, "score", 89.0),
        lambda e: setattr(e.biometric_confirmation, "decision", events_pb2.NO_MATCH),
    ):
        altered = events_pb2.Event()
        altered.CopyFrom(event)
        change(altered)
        assert verify_confirmation(altered, pem).problem == "bad_signature"

    other = StationIdentity.load_or_create(tmp_path / "other")
    assert verify_confirmation(event, other.public_key_pem).problem == "bad_signature"
    assert verify_confirmation(event, None).problem == "no_station_key"


def test_usb_discovery_names_known_readers_and_follows_plug_and_unplug() -> None:
    bus: list[tuple[int, int, int, int]] = [(0x1D6B, 0x0002, 1, 1), (0x05BA, 0x000A, 1, 4)]
    found = scan(lambda: bus)
    assert [(r.usb_id, r.model, r.supported) for r in found] == [
        ("05ba:000a", "U.are.U 4000B/4500", True)
    ]

    port = UsbReaderPort(lister=lambda: bus)
    assert port.health().health is Health.CONNECTED
    assert port.identify().usb_id == "05ba:000a"
    bus.pop()  # unplugged
    assert port.health().health is Health.DISCONNECTED
    bus.append((0x1162, 0x2200, 1, 5))  # a SecuGen Hamster Pro 20: known, no driver here
    health = port.health()
    assert (health.health, health.error_code) == (Health.UNSUPPORTED, "no_driver")


def test_the_real_usb_bus_can_be_scanned() -> None:
    assert isinstance(scan(), list)  # pyusb + libusb on this machine: no known reader attached
