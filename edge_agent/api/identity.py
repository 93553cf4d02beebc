"""GET /v1/identity: the station's public key, which ops register at the hub."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from edge_agent.api.deps import station_identity
from edge_agent.identity import SIGNATURE_ALGORITHM, StationIdentity

router = APIRouter(tags=["status"])


class IdentityOut(BaseModel):
    public_key_pem: str
    key_sha256: str
    signature_algorithm: str


@router.get("/v1/identity", response_model=IdentityOut)
def get_identity(identity: StationIdentity = Depends(station_identity)) -> IdentityOut:
    return IdentityOut(
        public_key_pem=identity.public_key_pem,
        key_sha256=identity.public_key_sha256.hex(),
        signature_algorithm=SIGNATURE_ALGORITHM,
    )
