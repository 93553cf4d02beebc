"""The agent's own page at desktop and phone widths: nothing wider than the screen (issue 17).

A real agent (simulated monitor, no broker reachable: the page must still work) served on a
free port, read by headless Chromium at 1366 and 390 px; screenshots in a temp dir.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from tests.brokers import free_port

pytestmark = pytest.mark.e2e


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
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{agent.http_url}/ui/pairing")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(tmp_path / f"agent-{width}.png"), full_page=True)
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
        assert scroll <= inner, f"agent page at {width} px: {scroll} px wide"
