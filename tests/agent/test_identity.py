"""The station key is made once on the PC, private to it, and its signatures verify."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from edge_agent.identity import StationIdentity


def test_key_is_created_once_with_private_permissions(tmp_path: Path) -> None:
    first = StationIdentity.load_or_create(tmp_path)
    assert not (tmp_path / "station-key.pem").exists()  # made when first needed, not at start
    pem = first.public_key_pem
    mode = stat.S_IMODE((tmp_path / "station-key.pem").stat().st_mode)
    assert mode == 0o600
    again = StationIdentity.load_or_create(tmp_path)
    assert again.public_key_pem == pem
    assert first.public_key_sha256 == first.fingerprint_sha256  # no certificate yet


def test_signatures_verify_with_the_public_key_and_fail_when_altered(tmp_path: Path) -> None:
    station = StationIdentity.load_or_create(tmp_path)
    public = serialization.load_pem_public_key(station.public_key_pem.encode())
    assert isinstance(public, ec.EllipticCurvePublicKey)
    signature = station.sign(b"confirmation bytes")
    public.verify(signature, b"confirmation bytes", ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):
        public.verify(signature, b"confirmation bytez", ec.ECDSA(hashes.SHA256()))


def test_a_key_file_that_is_not_a_pem_key_stops_the_start(tmp_path: Path) -> None:
    (tmp_path / "station-key.pem").write_bytes(b"not a key")
    with pytest.raises(ValueError, match="not a PEM private key"):
        StationIdentity.load_or_create(tmp_path)
