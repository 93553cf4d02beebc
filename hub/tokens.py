"""API tokens: roles, minting and hashing. Only a token's SHA-256 is ever stored or logged."""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum

from hub.ingest.timefmt import now_iso
from hub.storage.base import ApiToken, Store


class Role(StrEnum):
    CLINICAL = "clinical"  # a clinical system: opens and reads cases
    OPS = "ops"  # operations: stations, tokens, quarantine, everything
    READONLY = "readonly"  # dashboards: reads cases and stations
    # A station's agent (the token's name is its station id): uploads document bodies,
    # fetches what verification needs. Replaced by the station certificate under mTLS.
    STATION = "station"


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(store: Store, name: str, role: Role) -> str:
    """Mint a token, store its hash, and return the token itself (shown once)."""
    token = secrets.token_urlsafe(32)
    store.add_token(ApiToken(token_sha256(token), name, role.value, now_iso(), None))
    return token


def ensure_token(store: Store, token: str, name: str, role: Role) -> None:
    """Make sure a known token value exists (bootstrap token of the demo and first run)."""
    if store.find_token(token_sha256(token)) is None:
        store.add_token(ApiToken(token_sha256(token), name, role.value, now_iso(), None))
