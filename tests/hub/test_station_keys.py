"""Ops register the public key a station signs its attestations with."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from hub.storage.sqlite import SQLiteStore
from hub.tokens import Role
from tests.hub.events import STATION


def _pem() -> tuple[str, str]:
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return pem, hashlib.sha256(der).hexdigest()


def test_ops_set_a_station_key_and_the_store_returns_it(
    client: TestClient, store: SQLiteStore, tokens: dict[Role, dict[str, str]]
) -> None:
    pem, digest = _pem()
    r = client.put(
        f"/v1/stations/{STATION}/key", json={"public_key_pem": pem}, headers=tokens[Role.OPS]
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"station_id": STATION, "key_sha256": digest}
    assert store.station_key(STATION) == pem
    # Replacing the key (a re-enrolled PC) keeps one row, the new key.
    pem2, _ = _pem()
    client.put(
        f"/v1/stations/{STATION}/key", json={"public_key_pem": pem2}, headers=tokens[Role.OPS]
    )
    assert store.station_key(STATION) == pem2


def test_bad_key_unknown_station_and_wrong_role_are_refused(
    client: TestClient, tokens: dict[Role, dict[str, str]]
) -> None:
    bad = client.put(
        f"/v1/stations/{STATION}/key", json={"public_key_pem": "hello"}, headers=tokens[Role.OPS]
    )
    assert bad.status_code == 422 and bad.json()["code"] == "bad_public_key"
    pem, _ = _pem()
    unknown = client.put(
        "/v1/stations/nope/key", json={"public_key_pem": pem}, headers=tokens[Role.OPS]
    )
    assert unknown.status_code == 404
    clinical = client.put(
        f"/v1/stations/{STATION}/key", json={"public_key_pem": pem}, headers=tokens[Role.CLINICAL]
    )
    assert clinical.status_code == 403
