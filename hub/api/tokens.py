"""API tokens (ops only): mint one (shown once), list them, revoke by name."""

from __future__ import annotations

from fastapi import APIRouter

from hub.api.deps import Ops, StoreDep
from hub.api.models import RevokeResult, TokenCreated, TokenIn, TokenOut
from hub.api.problems import ApiError
from hub.ingest.timefmt import now_iso
from hub.tokens import create_token

router = APIRouter(prefix="/v1/tokens", tags=["tokens"])


@router.post("", status_code=201, response_model=TokenCreated)
def create(body: TokenIn, _caller: Ops, store: StoreDep) -> TokenCreated:
    return TokenCreated(
        name=body.name, role=body.role, token=create_token(store, body.name, body.role)
    )


@router.get("", response_model=list[TokenOut])
def list_tokens(_caller: Ops, store: StoreDep) -> list[TokenOut]:
    return [TokenOut.of(t) for t in store.list_tokens()]


@router.post("/{name}/revoke", response_model=RevokeResult)
def revoke(name: str, _caller: Ops, store: StoreDep) -> RevokeResult:
    """Revoke every active token of that name."""
    revoked = store.revoke_tokens(name, now_iso())
    if revoked == 0:
        raise ApiError(
            404,
            "token_not_found",
            "Not found / No encontrado",
            f"no active token named {name} / no hay token activo llamado {name}",
        )
    return RevokeResult(name=name, revoked=revoked)
