"""The hub's web console: server-rendered pages (Jinja2) with sign-in, sessions and CSRF.

`install(app, settings, store)` mounts it under ``/console``. The fleet pages are the
first; a later console (clinicians) adds a router and a nav entry and reuses the
layout (templates/base.html), the authenticator, the session and `require_role`.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.base import RequestResponseEndpoint
from starlette.types import Scope

from hub.settings import HubSettings
from hub.storage.base import Store
from hub.web import fleet, login, users
from hub.web.auth import LocalUsers, WebRole
from hub.web.deps import TEMPLATES, Console, CsrfRefused, LoginRequired, RoleRefused, render
from hub.web.session import SessionCodec

STATIC = Path(__file__).parent / "static"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self'; script-src 'none'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def install(app: FastAPI, settings: HubSettings, store: Store) -> Console:
    key_file = settings.web_session_key_file or settings.data_dir / "web-session.key"
    console = Console(
        codec=SessionCodec(
            key_file,
            settings.web_session_ttl_s,
            store.web_users(),  # server-side sessions
        ),
        auth=LocalUsers(store),
        templates=Jinja2Templates(directory=str(TEMPLATES)),
        nav=[
            ("home", "/console/", tuple(WebRole)),
            ("fleet", "/console/fleet", (WebRole.OPS,)),
            ("import", "/console/import", (WebRole.OPS,)),
            ("cases", "/console/cases", (WebRole.CLINICIAN,)),  # clinician console
            ("central", "/console/central", (WebRole.CLINICIAN,)),
            ("audit", "/console/audit", (WebRole.OPS,)),
            ("users", "/console/users", (WebRole.OPS,)),
        ],
    )
    app.state.console = console
    console.templates.env.globals["static"] = static_url
    app.mount("/console/static", VersionedStatic(directory=str(STATIC)), name="console-static")
    app.include_router(login.router)
    app.include_router(fleet.router)
    app.include_router(users.router)
    from hub.web import cases, central, live  # the clinician console (docs/console.md)

    app.include_router(cases.router)
    app.include_router(central.router)
    app.include_router(live.router)

    @app.exception_handler(LoginRequired)
    def _login(request: Request, _exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/console/login?next={_quote(target)}", status_code=303)

    @app.exception_handler(RoleRefused)
    def _refused(request: Request, exc: RoleRefused) -> HTMLResponse:
        return render(request, "error.html", 403, title_key="forbidden", role=exc.user.role.value)

    @app.exception_handler(CsrfRefused)
    def _csrf(request: Request, _exc: CsrfRefused) -> HTMLResponse:
        return render(request, "error.html", 403, title_key="bad_csrf", role="")

    @app.middleware("http")
    async def _headers(request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        if request.url.path.startswith("/console"):
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
        return response

    return console


@functools.cache
def static_url(name: str) -> str:
    """``/console/static/<name>?v=<content hash>``: a new release changes the URL, so the
    browser may keep each file (VersionedStatic) instead of asking again on every page."""
    digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]
    return f"/console/static/{name}?v={digest}"


class VersionedStatic(StaticFiles):
    """The console's static files; a request with the ``v`` of ``static_url`` is cacheable
    for a day without asking again (pages loaded while the hub is busy no longer wait on
    several conditional requests for their style sheets and scripts)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200 and b"v=" in scope.get("query_string", b""):
            response.headers["Cache-Control"] = "public, max-age=86400, immutable"
        return response


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")
