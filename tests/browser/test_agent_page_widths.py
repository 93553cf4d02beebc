"""The agent's own page at desktop and phone widths: nothing wider than the screen (issue 17).

A real agent (simulated monitor, no broker reachable: the page must still work) served on a
free port, read by headless Chromium at 1366 and 390 px; screenshots in a temp dir.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from tests.brokers import free_port

pytestmark = pytest.mark.e2e

ORIGIN = "https://medi.example.test"  # the clinic's web app, allowed to start streams


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[AgentService]:
    service = AgentService(
        AgentSettings(
            station_id="st-widths",
            unit_id="unit-1",
            data_dir=tmp_path / "agent",
            broker_url=f"mqtt://127.0.0.1:{free_port()}",
            http_port=0,
            grpc_port=0,
            devices=[{"device_id": "monitor-1", "driver": "sim.monitor"}],
            allowed_origins=[ORIGIN],
        )
    )
    service.start()
    assert service.wait_ready(10)
    yield service
    service.stop()


def test_agent_page_fits_a_phone(agent: AgentService, chromium: Any, tmp_path: Path) -> None:
    page = chromium.new_page()
    # Device health and the hub link in words, not JSON.
    page.goto(f"{agent.http_url}/ui/pairing")
    device = page.locator("#devices tr[data-device='monitor-1']")
    device.wait_for(timeout=15_000)
    assert device.locator("td").nth(2).inner_text().split(":")[0] in (
        "Conectado / Connected",
        "Desconectado / Disconnected",
        "Con falla / Failing",
        "Ocupado / Busy",
    )
    link = page.inner_text("#link")
    assert link.startswith("Sin conexión con el hub") and "por enviar" in link  # no broker
    # Streams: the empty state, then a running one the nurse stops from this page.
    assert "Ninguna transmisión" in page.inner_text("#streams")
    started = httpx.post(
        f"{agent.http_url}/v1/vitals/sessions",
        json={"device_id": "monitor-1", "case_id": "CASE-7", "patient_id": "1234567890101"},
        headers={"Origin": ORIGIN},
        timeout=20,
    )
    assert started.status_code == 201, started.text
    card = page.locator("#streams [data-session]")
    card.wait_for(timeout=10_000)
    assert "CASE-7" in card.inner_text()
    card.get_by_role("button", name="Detener / Stop").click()
    page.locator("#streams", has_text="Ninguna transmisión").wait_for(timeout=10_000)
    session = httpx.get(f"{agent.http_url}/v1/vitals/sessions", timeout=10).json()[0]
    assert session["active"] is False
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{agent.http_url}/ui/pairing")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(tmp_path / f"agent-{width}.png"), full_page=True)
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert scroll <= inner, f"agent page at {width} px: {scroll} px wide"
