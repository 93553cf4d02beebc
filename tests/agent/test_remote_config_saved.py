"""A saved remote config is verified once: a restart with the same pinned key and bytes
applies it without cryptography; any change to either is verified in full (and refused
when it does not verify); the broker's retained copy of the config in force is not
verified again, anything else from the network is."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from edge_agent.remote_config import APPLIED_FILE, CONFIG_KEY_FILE, VERIFIED_FILE, RemoteConfig
from edge_agent.settings import AgentSettings
from protos.station_config import SignedConfig, seal

ROOT = Path(__file__).resolve().parents[2]

_RESTART = """
import json, sys
from pathlib import Path
from edge_agent.remote_config import RemoteConfig
from edge_agent.settings import AgentSettings

class Devices:
    def reconfigure(self, *args):
        pass

settings = AgentSettings(
    station_id="st-1", unit_id="unit-1", data_dir=Path(sys.argv[1]),
    broker_url="mqtt://127.0.0.1:9",
)
remote = RemoteConfig(settings, Devices(), lambda: None)  # type: ignore[arg-type]
remote.load_saved()
print(json.dumps({"version": remote.version, "error": remote.error,
                  "receipt_timeout_s": settings.receipt_timeout_s,
                  "cryptography": "cryptography" in sys.modules}))
"""


def _pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _sealed(key: ec.EllipticCurvePrivateKey, version: int, timeout: float = 7.0) -> bytes:
    body = SignedConfig("st-1", "unit-1", version, "2026-12-01T00:00:00Z", {})
    body.config["receipt_timeout_s"] = timeout
    return seal(key, body)


def _restart(data: Path) -> dict[str, Any]:
    r = subprocess.run(
        [sys.executable, "-c", _RESTART, str(data)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    result: dict[str, Any] = json.loads(r.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture
def hub_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def data(tmp_path: Path, hub_key: ec.EllipticCurvePrivateKey) -> Path:
    data = tmp_path / "agent"
    data.mkdir(mode=0o700)
    (data / CONFIG_KEY_FILE).write_bytes(_pem(hub_key))
    (data / APPLIED_FILE).write_bytes(_sealed(hub_key, 3))
    return data


def test_a_restart_applies_the_config_verified_before_without_cryptography(data: Path) -> None:
    first = _restart(data)  # a station saved by an agent without the digest: verified in full
    assert (first["version"], first["error"], first["cryptography"]) == (3, "", True)
    assert (data / VERIFIED_FILE).exists()
    again = _restart(data)
    assert (again["version"], again["error"], again["receipt_timeout_s"]) == (3, "", 7.0)
    assert again["cryptography"] is False


def test_changed_bytes_are_verified_in_full_and_refused(
    data: Path, hub_key: ec.EllipticCurvePrivateKey
) -> None:
    _restart(data)
    forged = ec.generate_private_key(ec.SECP256R1())
    (data / APPLIED_FILE).write_bytes(_sealed(forged, 9, timeout=1.0))
    r = _restart(data)
    assert (r["version"], r["cryptography"]) == (0, True)
    assert r["error"].startswith("bad_signature")
    assert r["receipt_timeout_s"] != 1.0


def test_a_changed_pinned_key_means_a_full_verification(data: Path) -> None:
    _restart(data)
    other = ec.generate_private_key(ec.SECP256R1())
    (data / CONFIG_KEY_FILE).write_bytes(_pem(other))  # the saved config is not signed by it
    r = _restart(data)
    assert (r["version"], r["cryptography"]) == (0, True)
    assert r["error"].startswith("bad_signature")


class _Devices:
    def reconfigure(self, *args: object) -> None:
        pass


def test_the_retained_copy_in_force_is_not_verified_again_anything_else_is(
    data: Path, hub_key: ec.EllipticCurvePrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    level = logging.getLogger().level
    settings = AgentSettings(
        station_id="st-1", unit_id="unit-1", data_dir=data, broker_url="mqtt://127.0.0.1:9"
    )
    remote = RemoteConfig(settings, _Devices(), lambda: None)  # type: ignore[arg-type]
    try:
        remote.load_saved()
        assert (remote.version, remote.error) == (3, "")
        checked: list[int] = []
        key = remote._key

        def counting_key() -> Any:
            checked.append(1)
            return key()

        monkeypatch.setattr(remote, "_key", counting_key)
        remote._apply((data / APPLIED_FILE).read_bytes(), save=True, initial=False)
        assert checked == [] and (remote.version, remote.error) == (3, "")
        forged = _sealed(ec.generate_private_key(ec.SECP256R1()), 4)
        remote._apply(forged, save=True, initial=False)
        assert checked == [1] and remote.version == 3
        assert remote.error.startswith("bad_signature")
        newer = _sealed(hub_key, 5, timeout=5.0)
        remote._apply(newer, save=True, initial=False)
        assert (remote.version, remote.error, settings.receipt_timeout_s) == (5, "", 5.0)
        assert (data / APPLIED_FILE).read_bytes() == newer
    finally:
        logging.getLogger().setLevel(level)
    assert _restart(data)["cryptography"] is False  # the new digest was kept with it
