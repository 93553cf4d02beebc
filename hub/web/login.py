"""Console sign-in, sign-out, language choice and the home page every role sees."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.web.deps import AnyUser, ConsoleDep, Csrf, SessionDep, render
from hub.web.i18n import LANGS

router = APIRouter(prefix="/console", include_in_schema=False)


def _safe_next(target: str) -> str:
    """Only a path inside the console (no open redirect to another site)."""
    if target.startswith("/console") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console/"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, session: SessionDep, next: str = "/console/") -> HTMLResponse:
    return render(request, "login.html", next=_safe_next(next), failed=False)


@router.post("/login", dependencies=[Csrf])
def login(
    request: Request,
    console: ConsoleDep,
    session: SessionDep,
    name: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form()] = "/console/",
) -> Response:
    user = console.auth.authenticate(name.strip(), password)
    if user is None:
        return render(request, "login.html", 401, next=_safe_next(next), failed=True, name=name)
    # A new session (new CSRF token) at sign-in: no fixation of a pre-login session.
    response = RedirectResponse(_safe_next(next), status_code=303)
    console.codec.set_cookie(request, response, console.codec.new(user, session.lang))
    return response


@router.post("/logout", dependencies=[Csrf])
def logout(request: Request, console: ConsoleDep, session: SessionDep) -> Response:
    console.codec.end(session)  # ended in the store: the cookie is worth nothing now
    response = RedirectResponse("/console/login", status_code=303)
    console.codec.clear_cookie(request, response)
    return response


@router.post("/lang", dependencies=[Csrf])
def choose_language(
    request: Request,
    console: ConsoleDep,
    session: SessionDep,
    lang: Annotated[str, Form()] = "es",
    next: Annotated[str, Form()] = "/console/",
) -> Response:
    response = RedirectResponse(_safe_next(next), status_code=303)
    chosen = lang if lang in LANGS else "es"
    console.codec.set_cookie(
        request,
        response,
        replace(session, lang=chosen),
    )
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, user: AnyUser) -> HTMLResponse:
    return render(request, "home.html")
