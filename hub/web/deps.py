"""Shared dependencies of console pages: the session, `require_role`, CSRF checks and `render`."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from hub.storage.console_facts import DEFAULT_TIME_ZONE
from hub.web.auth import Authenticator, WebRole, WebUser
from hub.web.i18n import clock_words, pick, translator, words
from hub.web.localtime import Local
from hub.web.ranges import label
from hub.web.session import COOKIE, Session, SessionCodec

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class Console:
    """What the console needs, kept on ``app.state.console``."""

    codec: SessionCodec
    auth: Authenticator
    templates: Jinja2Templates
    # Nav entries: (label key, path, roles that see it). Later consoles append theirs.
    nav: list[tuple[str, str, tuple[WebRole, ...]]]


def get_console(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


ConsoleDep = Annotated[Console, Depends(get_console)]


def current_session(request: Request, console: ConsoleDep) -> Session:
    """The caller's session; a fresh anonymous one (set on the response) if none is valid."""
    cached: Session | None = getattr(request.state, "session", None)
    if cached is not None:
        return cached
    session = console.codec.decode(request.cookies.get(COOKIE))
    if session is not None and session.user is not None and not _still_valid(request, session):
        session = None  # user disabled, password reset or gone since this cookie was made
    if session is None:
        session = console.codec.new(None)
        request.state.session_dirty = True
    request.state.session = session
    return session


SessionDep = Annotated[Session, Depends(current_session)]


def _still_valid(request: Request, session: Session) -> bool:
    """The signed-in user still exists and is enabled (the codec already checked that the
    server-side session is live: disabling or a password reset ends it)."""
    console = get_console(request)
    if console.auth.kind != "local" or session.user is None:
        return True
    record = console.auth.users.get(session.user.name)  # type: ignore[attr-defined]  # kind "local": LocalAuth
    return record is not None and record.disabled_at is None


class LoginRequired(Exception):
    """No signed-in user: the handler redirects to the sign-in page."""


class RoleRefused(Exception):
    """Signed in, but the role may not see this page: the handler renders the 403 page."""

    def __init__(self, user: WebUser) -> None:
        self.user = user


class CsrfRefused(Exception):
    """A form post without the session's CSRF token, or from another origin."""


def require_role(*roles: WebRole) -> Callable[..., WebUser]:
    """A page dependency admitting only signed-in users with one of ``roles``."""

    def check(session: SessionDep) -> WebUser:
        if session.user is None:
            raise LoginRequired()
        if session.user.role not in roles:
            raise RoleRefused(session.user)
        return session.user

    return check


OpsUser = Annotated[WebUser, Depends(require_role(WebRole.OPS))]
AnyUser = Annotated[WebUser, Depends(require_role(*WebRole))]


def check_csrf(request: Request, session: SessionDep, csrf: Annotated[str, Form()] = "") -> None:
    """Every form post carries the session's token, and comes from this host if it says."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
        raise CsrfRefused()
    if not csrf or not hmac.compare_digest(csrf, session.csrf):
        raise CsrfRefused()


Csrf = Depends(check_csrf)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page in the session's language, with the nav, user and CSRF token every form needs."""
    console = get_console(request)
    session = current_session(request, console)
    lang = pick(request.headers.get("accept-language"), session.lang)
    user = session.user
    t = translator(lang)
    local = Local(lang, str(context.pop("time_zone", "") or DEFAULT_TIME_ZONE))
    nav = [
        (key, path) for key, path, roles in console.nav if user is not None and user.role in roles
    ]
    response = console.templates.TemplateResponse(
        request,
        template,
        {
            "t": t,
            "w": words(t),
            "L": local,
            "pname": lambda parameter: label(parameter, lang),
            "clock_words": lambda ms, known=True: clock_words(t, ms, known),
            "lang": lang,
            "user": user,
            "csrf": session.csrf,
            "nav": nav,
            "path": request.url.path,
            **context,
        },
        status_code=status_code,
    )
    response.headers["Cache-Control"] = "no-store"
    if getattr(request.state, "session_dirty", False):
        console.codec.set_cookie(request, response, session)
    return response
