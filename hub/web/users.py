"""The ops page of console users: list, disable, re-enable, reset a password.

The same actions as ``puente hub user …``; disabling or resetting ends the user's open
sessions (the server-side sessions, hub/storage/web_users.py). An ops user cannot disable
themself (so the last ops user is never locked out by a slip).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from hub.storage.base import NotFound
from hub.web.auth import LocalUsers, WeakPassword
from hub.web.deps import Csrf, OpsUser, get_console, render

router = APIRouter(prefix="/console", include_in_schema=False)


def _users(request: Request) -> LocalUsers:
    auth = get_console(request).auth
    return auth if isinstance(auth, LocalUsers) else LocalUsers(request.app.state.store)


def _page(request: Request, status: int = 200, **context: object) -> HTMLResponse:
    records = _users(request).users.list()
    return render(request, "users.html", status, records=records, **context)


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, user: OpsUser) -> HTMLResponse:
    return _page(request)


@router.post("/users/{name}/disable", dependencies=[Csrf], response_class=HTMLResponse)
def disable(request: Request, name: str, user: OpsUser) -> HTMLResponse:
    if name == user.name:
        return _page(request, 400, error_key="cannot_disable_self")
    try:
        _users(request).disable(name)
    except NotFound:
        return _page(request, 404, error_key="no_such_user")
    return _page(request, notice=("user_disabled", {"name": name}))


@router.post("/users/{name}/enable", dependencies=[Csrf], response_class=HTMLResponse)
def enable(request: Request, name: str, user: OpsUser) -> HTMLResponse:
    try:
        _users(request).enable(name)
    except NotFound:
        return _page(request, 404, error_key="no_such_user")
    return _page(request, notice=("user_enabled", {"name": name}))


@router.post("/users/{name}/password", dependencies=[Csrf], response_class=HTMLResponse)
def reset_password(
    request: Request,
    name: str,
    user: OpsUser,
    password: Annotated[str, Form(max_length=256)] = "",
) -> HTMLResponse:
    try:
        _users(request).reset_password(name, password)
    except NotFound:
        return _page(request, 404, error_key="no_such_user")
    except WeakPassword:
        return _page(request, 400, error_key="weak_password")
    return _page(request, notice=("password_reset", {"name": name}))
