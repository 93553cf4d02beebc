"""Console sessions live in the store: a session opened through one hub process works on
another, and signing out or disabling the user ends it at once everywhere, whatever the
cookie still says (SQLite and PostgreSQL alike)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.ingest.timefmt import now_iso
from hub.metrics import HubMetrics
from hub.settings import HubSettings
from hub.web.auth import LocalUsers, WebRole
from hub.web.session import COOKIE

PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def apps(make_store: Callable[[], Any], tmp_path: Path) -> Iterator[list[TestClient]]:
    """Two API/console processes' worth of apps, each with its own store, one database."""
    settings = HubSettings(data_dir=tmp_path / "hub-data")  # one session key file for both
    clients = []
    for _ in range(2):
        c = TestClient(create_app(make_store(), HubMetrics(), settings=settings))
        c.__enter__()
        clients.append(c)
    try:
        yield clients
    finally:
        for c in clients:
            c.__exit__(None, None, None)


def _sign_in(client: TestClient, name: str) -> str:
    page = client.get("/console/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    r = client.post(
        "/console/login",
        data={"csrf": csrf.group(1), "name": name, "password": PASSWORD, "next": "/console/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return str(r.cookies[COOKIE])


def _home(client: TestClient, cookie: str) -> int:
    client.cookies.clear()
    client.cookies.set(COOKIE, cookie)
    r = client.get("/console/", follow_redirects=False)
    return r.status_code


def test_a_session_works_on_every_process_and_sign_out_ends_it_everywhere(
    apps: list[TestClient], store: Any
) -> None:
    one, two = apps
    LocalUsers(store).add("ana", WebRole.OPS, PASSWORD)
    cookie = _sign_in(one, "ana")
    assert _home(one, cookie) == 200
    assert _home(two, cookie) == 200  # stateless processes: the session is in the store
    page = one.get("/console/").text  # the jar holds `cookie` (set by _home)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    out = one.post("/console/logout", data={"csrf": csrf.group(1)}, follow_redirects=False)
    assert out.status_code == 303
    # The same (validly signed, unexpired) cookie is refused by both processes now.
    assert _home(one, cookie) == 303
    assert _home(two, cookie) == 303


def test_disabling_a_user_ends_their_sessions_at_once(apps: list[TestClient], store: Any) -> None:
    one, two = apps
    LocalUsers(store).add("luis", WebRole.CLINICIAN, PASSWORD)
    cookie = _sign_in(one, "luis")
    assert _home(two, cookie) == 200
    assert store.web_users().disable("luis", now_iso()) is True
    assert _home(one, cookie) == 303
    assert _home(two, cookie) == 303
    # And no new sign-in either.
    one.cookies.clear()
    page = one.get("/console/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    r = one.post(
        "/console/login",
        data={"csrf": csrf.group(1), "name": "luis", "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 401
