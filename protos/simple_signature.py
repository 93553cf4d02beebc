"""The statement a station signs for a simple electronic signature (firma electrónica simple).

Both sides read it: the agent builds the statement and signs its exact bytes
with the station key; the hub verifies the signature over those bytes, then
parses them and checks each field against the event that carries them. The
statement is canonical JSON (sorted keys, no spaces, UTF-8), so the same
facts always give the same bytes.

``user`` is the identity assertion of the calling clinical system: who it
says is logged in (``user_id``, ``name``, ``role``, and ``system`` — the
asserting application, as the agent saw its Origin). The agent does not
authenticate that user; the station key attests only that THIS station, on
request of THAT origin, with THAT user asserted and a click on the agent's
consent page, signed THESE bytes at THIS time. That is a simple signature,
never an advanced one.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

KIND = "puente-simple-signature"
VERSION = 1
LEVEL = "SIMPLE"
SIGNATURE_ALGORITHM = "ecdsa-p256-sha256"


@dataclass(frozen=True)
class UserAssertion:
    user_id: str
    name: str
    role: str
    system: str  # the origin of the clinical system that asserted the user


@dataclass(frozen=True)
class Statement:
    document_sha256: str  # hex of the PDF's SHA-256
    document_size: int
    document_type: str
    document_id: str
    case_id: str
    patient_id: str
    station_id: str
    signed_at: str  # ISO 8601 UTC, station clock
    user: UserAssertion
    kind: str = KIND
    version: int = VERSION
    level: str = LEVEL

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Statement:
        """Parse a statement; ValueError when it is not one (wrong kind, level or fields)."""
        try:
            raw: dict[str, Any] = json.loads(data)
            user = UserAssertion(**raw.pop("user"))
            statement = cls(user=user, **raw)
        except (TypeError, KeyError, AttributeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a simple-signature statement: {exc}") from exc
        if statement.kind != KIND or statement.level != LEVEL or statement.version != VERSION:
            raise ValueError("not a simple-signature statement (kind, level or version)")
        return statement
