"""Capability routers included on first use, with the routes and OpenAPI of an eager app.

FastAPI builds each route's request and response models when the route is declared;
the agent's ~50 routes cost ≈ 3 MB and a good part of its start-up CPU, while an idle
station answers little more than ``/v1/status``. So each capability's router modules are
imported and included by the first request whose path starts with one of the capability's
prefixes (``RouterGroup.prefixes``), before that request is routed; ``/openapi.json``
(and the ``/docs`` page that fetches it) includes every group first. After each include
the app's route list is put back in the declared order, so routing and the OpenAPI
document are the same as an app that included everything at start
(``tests/agent/test_lazy_routes.py`` checks both, and that each prefix covers exactly its
group's routes).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass(frozen=True)
class RouterGroup:
    """One capability's routers: included at start when ``prefixes`` is empty, else by the
    first request whose path starts with a prefix. A router is given as the object, or as
    the dotted name of a module whose ``router`` it is (imported when the group loads)."""

    name: str
    prefixes: tuple[str, ...]
    routers: tuple[APIRouter | str, ...]

    def matches(self, path: str) -> bool:
        return any(path.startswith(p) for p in self.prefixes)


class LazyRoutes:
    def __init__(self, app: FastAPI, groups: tuple[RouterGroup, ...]) -> None:
        self.app = app
        self.groups = groups
        self._head: list[BaseRoute] = list(app.router.routes)  # FastAPI's /openapi.json, /docs
        self._loaded: dict[str, list[BaseRoute]] = {}
        self._lock = threading.Lock()
        for group in groups:
            if not group.prefixes:
                self._load(group)
        self._pending = [g for g in groups if g.prefixes]
        openapi: Callable[[], dict[str, Any]] = app.openapi

        def openapi_with_every_route() -> dict[str, Any]:
            self.load_all()
            return openapi()

        app.openapi = openapi_with_every_route  # type: ignore[method-assign]

    @property
    def loaded(self) -> list[str]:
        return list(self._loaded)

    def load_path(self, path: str) -> None:
        """Include the group that serves ``path``, if it is not yet included."""
        for group in self._pending:
            if group.matches(path):
                with self._lock:
                    if group.name not in self._loaded:
                        self._load(group)

    def load_all(self) -> None:
        with self._lock:
            for group in self.groups:
                if group.name not in self._loaded:
                    self._load(group)

    def _load(self, group: RouterGroup) -> None:
        routes = self.app.router.routes
        start = len(routes)
        for router in group.routers:
            if isinstance(router, str):
                router = importlib.import_module(router).router
            assert isinstance(router, APIRouter)
            self.app.include_router(router)
        self._loaded[group.name] = routes[start:]
        # The declared order, whatever the order of first use: routing and OpenAPI as eager.
        routes[:] = self._head + [
            route for g in self.groups for route in self._loaded.get(g.name, ())
        ]
        self._pending = [g for g in self.groups if g.prefixes and g.name not in self._loaded]
        # FastAPI ≥ 0.16x caches the routes it resolves from included routers (and the
        # OpenAPI document) by a version that include_router bumps; the reorder bumps it too.
        changed = getattr(self.app.router, "_mark_routes_changed", None)
        if changed is not None:
            changed()


class LoadRoutesMiddleware:
    """Before routing a request, include the routers its path belongs to."""

    def __init__(self, app: ASGIApp, routes: LazyRoutes) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.routes._pending:
            self.routes.load_path(scope["path"])
        await self.app(scope, receive, send)
