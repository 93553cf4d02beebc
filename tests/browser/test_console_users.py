"""Console users from the CLI and the ops page; disabling ends open sessions (issue 17).

A real hub (SQLite, uvicorn), `puente hub user …` run as a subprocess on the same database,
and headless Chromium holding a clinician's signed-in session.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.storage.sqlite import SQLiteStore
from hub.web.auth import LocalUsers, WebRole
from tests.browser.console_site import PASSWORD, Site, check_widths, serve, sign_in

pytestmark = pytest.mark.e2e

PUENTE = [sys.executable, "-m", "puente_cli.main"]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    yield from serve(tmp_path)


def puente(
    *args: str, cwd: Path | None = None, password: str = ""
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PUENTE_HUB_USER_PASSWORD=password) if password else dict(os.environ)
    env.pop("PUENTE_HUB_CONFIG", None)
    return subprocess.run(
        [*PUENTE, *args], capture_output=True, text=True, timeout=60, cwd=cwd, env=env
    )


def config_for(tmp_path: Path) -> Path:
    config = tmp_path / "hub.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "hub"}"\ndatabase_url = "sqlite:///{tmp_path / "hub.sqlite3"}"\n'
    )
    return config


def test_disable_from_cli_ends_the_open_session(site: Site, chromium: Any, tmp_path: Path) -> None:
    config = str(config_for(tmp_path))
    page = chromium.new_page()
    sign_in(page, site.url, "ana")
    page.goto(f"{site.url}/console/cases")
    assert "/console/cases" in page.url
    listed = puente("hub", "user", "list", "--config", config)
    assert listed.returncode == 0, listed.stderr
    assert "ana\tclinician" in listed.stdout and "enabled" in listed.stdout
    done = puente("hub", "user", "disable", "--name", "ana", "--config", config)
    assert done.returncode == 0, done.stderr
    page.goto(f"{site.url}/console/cases")
    assert "/console/login" in page.url  # the open session ended at once
    sign_in(page, site.url, "ana")
    assert page.get_by_role("alert").count() == 1  # and no new sign-in
    assert "disabled" in puente("hub", "user", "list", "--config", config).stdout
    assert puente("hub", "user", "enable", "--name", "ana", "--config", config).returncode == 0
    sign_in(page, site.url, "ana")
    page.goto(f"{site.url}/console/cases")
    assert "/console/cases" in page.url
    # A reset password ends the session signed in with the old one.
    new = "another long passphrase"
    r = puente("hub", "user", "reset-password", "--name", "ana", "--config", config, password=new)
    assert r.returncode == 0, r.stderr
    page.goto(f"{site.url}/console/cases")
    assert "/console/login" in page.url
    missing = puente("hub", "user", "disable", "--name", "nobody", "--config", config)
    assert missing.returncode == 1 and "nobody" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_ops_page_disables_and_resets(site: Site, chromium: Any, tmp_path: Path) -> None:
    # Another host name for the same hub: its own cookie jar in this browser profile.
    other = site.url.replace("127.0.0.1", "rebind.test")
    clinician = chromium.new_page()
    sign_in(clinician, other, "ana")
    ops = chromium.new_page()
    sign_in(ops, site.url, "oscar")
    ops.goto(f"{site.url}/console/users")
    row = ops.locator("tr[data-user='ana']")
    assert row.get_attribute("data-state") == "enabled"
    assert ops.locator("tr[data-user='oscar'] button.danger").count() == 0  # not oneself
    row.get_by_role("button", name="Deshabilitar").click()
    ops.wait_for_load_state()
    assert "sesiones terminaron" in ops.get_by_role("status").inner_text()
    assert ops.locator("tr[data-user='ana']").get_attribute("data-state") == "disabled"
    clinician.goto(f"{other}/console/cases")
    assert "/console/login" in clinician.url
    ops.locator("tr[data-user='ana']").get_by_role("button", name="Volver a habilitar").click()
    ops.wait_for_load_state()
    assert ops.locator("tr[data-user='ana']").get_attribute("data-state") == "enabled"
    row = ops.locator("tr[data-user='ana']")
    row.locator("summary").click()
    row.locator("input[name=password]").fill("short")
    row.get_by_role("button", name="Cambiar contraseña").click()  # the browser refuses: minlength
    assert ops.locator("tr[data-user='ana']").count() == 1
    check_widths(ops, f"{site.url}/console/users", "users", tmp_path / "shots")


def test_cli_without_config_in_the_demo_folder(tmp_path: Path) -> None:
    demo_hub = tmp_path / "puente-data" / "demo" / "hub"
    demo_hub.mkdir(parents=True)
    store = SQLiteStore(demo_hub / "hub.sqlite3")
    store.migrate()
    LocalUsers(store).add("demo-clinician", WebRole.CLINICIAN, PASSWORD)
    store.close()
    listed = puente("hub", "user", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "demo-clinician" in listed.stdout
    assert "demo" in listed.stderr and str(demo_hub) in listed.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    listed = puente("hub", "user", "list", cwd=elsewhere)
    assert str(elsewhere / "puente-data" / "hub") in listed.stderr  # says which it uses
