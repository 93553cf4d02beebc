"""Capability routers included on first use: same routes, same OpenAPI, each first call works."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from starlette.routing import Route

from edge_agent.api import ROUTERS, create_app
from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from tests.agent.conftest import ALLOWED_ORIGIN

Start = Callable[[AgentSettings], AgentService]

# One request per capability, as a browser's first call would be; the expected status.
# (The actions board answers the agent's own page: a same-origin GET carries no Origin.)
FIRST_CALLS: dict[str, tuple[str, str, int]] = {
    "fingerprint": ("GET", "/v1/fingerprint/readers", 200),
    "vitals": ("GET", "/v1/vitals/inbox", 200),
    "scanning": ("GET", "/v1/scanners", 200),
    "signing": ("GET", "/v1/signing/document-types", 200),
    "pharmacy": ("GET", "/v1/pharmacy/catalogue", 200),
    "pairing": ("GET", "/v1/pairing/status", 200),
    "activity": ("GET", "/v1/activity", 200),
}


def _origin(capability: str) -> dict[str, str]:
    return {} if capability == "activity" else {"Origin": ALLOWED_ORIGIN}


def _routers(group_routers: tuple[APIRouter | str, ...]) -> list[APIRouter]:
    return [importlib.import_module(r).router if isinstance(r, str) else r for r in group_routers]


def _flat(routes: list[Any]) -> list[Any]:
    """Routes in match order (FastAPI keeps an included router as one entry)."""
    out: list[Any] = []
    for r in routes:
        original = getattr(r, "original_router", None)
        out.extend(_flat(original.routes) if original is not None else [r])
    return out


def _paths(app: Any) -> list[tuple[str, tuple[str, ...]]]:
    return [(r.path, tuple(sorted(getattr(r, "methods", None) or ()))) for r in _flat(app.routes)]


@pytest.fixture
def agent(make_settings: Callable[..., AgentSettings], start_agent: Start) -> AgentService:
    return start_agent(make_settings())


def _app(agent: AgentService) -> Any:
    assert agent._http is not None
    return agent._http.config.app


def test_every_lazy_group_is_covered_by_its_prefixes_and_no_other() -> None:
    lazy = [g for g in ROUTERS if g.prefixes]
    assert {g.name for g in lazy} == set(FIRST_CALLS)
    for group in ROUTERS:
        for router in _routers(group.routers):
            for route in router.routes:
                assert isinstance(route, Route)
                owners = [g.name for g in lazy if g.matches(route.path)]
                expected = [group.name] if group.prefixes else []
                assert owners == expected, f"{route.path}: matched by {owners}"


def test_a_started_agent_includes_no_capability_router_until_its_first_call(
    agent: AgentService,
) -> None:
    app = _app(agent)
    assert app.state.routes.loaded == ["status", "identity", "events", "metrics"]
    paths = {p for p, _ in _paths(app)}
    assert "/v1/status" in paths and not any(p.startswith("/v1/signing") for p in paths)
    with httpx.Client(base_url=agent.http_url, timeout=30) as http:
        for name, (method, path, status) in FIRST_CALLS.items():
            r = http.request(method, path, headers=_origin(name))
            assert r.status_code == status, (name, r.text)
            assert name in app.state.routes.loaded
        # Unknown paths are still 404 once everything is in.
        assert http.get("/v1/nothing-here").status_code == 404


def test_routes_and_openapi_are_those_of_an_eager_app_whatever_the_order_of_first_use(
    agent: AgentService,
) -> None:
    services = agent.services
    assert services is not None
    eager = create_app(services, [ALLOWED_ORIGIN], lazy=False)
    app = _app(agent)
    with httpx.Client(base_url=agent.http_url, timeout=30) as http:
        for name in ("activity", "pairing", "vitals"):  # not the declared order
            method, path, status = FIRST_CALLS[name]
            assert http.request(method, path, headers=_origin(name)).status_code == status
        assert _paths(app) != _paths(eager)  # some groups still out
        openapi = http.get("/openapi.json")
    assert openapi.status_code == 200
    assert openapi.json() == eager.openapi()
    assert _paths(app) == _paths(eager)
    assert sorted(app.state.routes.loaded) == sorted(g.name for g in ROUTERS)
