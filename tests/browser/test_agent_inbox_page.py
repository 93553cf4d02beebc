"""The station's own page in real Chromium: unassigned readings are listed, assigned, discarded.

A PCD-01 gateway pushes ORU^R01 over MLLP (a real socket) while no take runs; the nurse sees
the entries on the agent's page, assigns one to a case naming herself and discards the other.
The outbox gets the "assigned" fact; the audit log names her.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect

from drivers.vitals.simulators.hl7_pcd01 import make_oru, send_mllp
from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from protos import events_pb2
from tests.brokers import free_port, wait_port
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.e2e


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[tuple[AgentService, int]]:
    port = free_port()
    service = AgentService(
        AgentSettings(
            station_id="st-inbox",
            unit_id="unit-1",
            data_dir=tmp_path / "agent",
            broker_url=f"mqtt://127.0.0.1:{free_port()}",
            http_port=0,
            grpc_port=0,
            devices=[
                {
                    "device_id": "gateway-1",
                    "driver": "hl7.pcd01.mllp",
                    "options": {"host": "127.0.0.1", "port": port},
                }
            ],
            vitals={"inbox_sweep_s": 0.2},
        )
    )
    service.start()
    assert service.wait_ready(10)
    wait_port(port)
    yield service, port
    service.stop()


def test_a_nurse_assigns_and_discards_unassigned_readings_on_the_agent_page(
    agent: tuple[AgentService, int], chromium: object
) -> None:
    service, port = agent
    now = datetime.now(UTC)
    messages = [
        make_oru([(150456, "MDC_PULS_OXIM_SAT_O2", 94, "MDC_DIM_PERCENT")], "IN1", now),
        make_oru([(149530, "MDC_PULS_OXIM_PULS_RATE", 77, "MDC_DIM_BEAT_PER_MIN")], "IN2", now),
    ]
    # Playwright's loop runs in this thread: the gateway sends from its own.
    with ThreadPoolExecutor(1) as pool:
        answers = pool.submit(send_mllp, "127.0.0.1", port, messages).result(30)
    assert ["MSA|AA|IN1" in answers[0], "MSA|AA|IN2" in answers[1]] == [True, True]
    page = chromium.new_page()  # type: ignore[attr-defined]
    page.goto(f"{service.http_url}/ui/pairing")
    cards = page.locator("#inbox form[data-entry]")
    expect(cards).to_have_count(2, timeout=10_000)
    spo2 = page.locator("#inbox form", has_text="MDC_PULS_OXIM_SAT_O2")
    expect(spo2).to_contain_text("no take or stream ran")
    screenshot(page, "agent-inbox")

    spo2.locator("input[name=case_id]").fill("CASE-9")
    spo2.locator("input[name=patient_id]").fill("1234567890101")
    spo2.locator("input[name=who]").fill("Enf. Rosa Méndez")
    spo2.get_by_role("button", name="Asignar / Assign").click()
    expect(cards).to_have_count(1, timeout=10_000)

    pulse = page.locator("#inbox form", has_text="MDC_PULS_OXIM_PULS_RATE")
    pulse.get_by_role("button", name="Descartar / Discard").click()  # nobody named: refused
    expect(pulse.locator(".result")).not_to_be_empty()
    pulse.locator("input[name=who]").fill("Enf. Rosa Méndez")
    pulse.get_by_role("button", name="Descartar / Discard").click()
    expect(page.locator("#inbox")).to_contain_text("Sin lecturas sin asignar", timeout=10_000)

    [(_, _, raw)] = service.outbox.pending(0, 100)[-1:]
    event = events_pb2.Event.FromString(raw)
    assert (event.case_id, event.vital_signs.mode) == ("CASE-9", "assigned")
    assert event.vital_signs.assigned_by == "Enf. Rosa Méndez"
    assert [r.value for r in event.vital_signs.readings] == [94.0]
    decisions = {(a["decision"], a.get("by")) for a in service.audit.recent()}
    assert ("vitals_assigned", "Enf. Rosa Méndez") in decisions
    assert ("vitals_discarded", "Enf. Rosa Méndez") in decisions
