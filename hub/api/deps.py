"""Shared dependencies of the API routers: the store, the caller and role checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hub.api.problems import ApiError
from hub.metrics import HubMetrics
from hub.settings import HubSettings
from hub.storage.base import Store
from hub.tokens import Role, token_sha256

_bearer = HTTPBearer(auto_error=False, description="Per-system API token / token por sistema")


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_metrics(request: Request) -> HubMetrics:
    metrics: HubMetrics = request.app.state.metrics
    return metrics


StoreDep = Annotated[Store, Depends(get_store)]


def get_settings(request: Request) -> HubSettings:
    settings: HubSettings = request.app.state.settings
    return settings


SettingsDep = Annotated[HubSettings, Depends(get_settings)]


@dataclass(frozen=True)
class Caller:
    """Who calls: the token's name and role (never the token itself)."""

    name: str
    role: Role


def _unauthorized(detail: str) -> ApiError:
    return ApiError(
        401, "unauthorized", "Unauthorized / No autorizado", detail, {"WWW-Authenticate": "Bearer"}
    )


def current_caller(
    store: StoreDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("a Bearer token is required / se requiere un token Bearer")
    token = store.find_token(token_sha256(credentials.credentials))
    if token is None:
        raise _unauthorized("unknown token / token desconocido")
    if token.revoked_at is not None:
        raise _unauthorized("the token was revoked / el token fue revocado")
    return Caller(token.name, Role(token.role))


def require(*roles: Role) -> Callable[[Caller], Caller]:
    """A dependency admitting only callers with one of `roles`."""

    def check(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
        if caller.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise ApiError(
                403,
                "forbidden",
                "Forbidden / Prohibido",
                f"role {caller.role.value} may not do this (needs {allowed}) / "
                f"el rol {caller.role.value} no puede hacer esto (requiere {allowed})",
            )
        return caller

    return check


ALL_ROLES = (Role.CLINICAL, Role.OPS, Role.READONLY)
Reader = Annotated[Caller, Depends(require(*ALL_ROLES))]
CaseWriter = Annotated[Caller, Depends(require(Role.CLINICAL, Role.OPS))]
Ops = Annotated[Caller, Depends(require(Role.OPS))]
StationCaller = Annotated[Caller, Depends(require(Role.STATION))]
