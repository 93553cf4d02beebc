"""A simple signature's consent page in real Chromium: it signs only with the operator PIN."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from tests.brokers import free_port
from tests.browser.conftest import screenshot
from tests.grpc_apps import OPERATOR_PIN
from tests.signing.pdfs import make_pdf

pytestmark = pytest.mark.e2e
SITE = "https://medi.igss.example"


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[AgentService]:
    agent = AgentService(
        AgentSettings(
            station_id="st-consent",
            unit_id="unit-1",
            data_dir=tmp_path / "agent",
            broker_url=f"mqtt://127.0.0.1:{free_port()}",
            http_port=0,
            grpc_port=0,
            allowed_origins=[SITE],
        )
    )
    agent.operator_pin.set(OPERATOR_PIN)
    agent.start()
    assert agent.wait_ready(10)
    try:
        yield agent
    finally:
        agent.stop()


def test_the_simple_signature_page_asks_the_operator_pin_and_refuses_a_wrong_one(
    chromium: object, agent: AgentService
) -> None:
    submitted = httpx.post(
        f"{agent.http_url}/v1/signing/jobs",
        params={
            "document_type": "CONSTANCIA",
            "case_id": "C-OP",
            "patient_id": "P-OP",
            "role": "clerk",
            "signature": "simple",
            "user_id": "u-1",
            "user_name": "Ana Pérez",
        },
        content=make_pdf("Constancia"),
        headers={"Origin": SITE, "Content-Type": "application/pdf"},
        timeout=30,
    )
    assert submitted.status_code == 202, submitted.text
    job = submitted.json()
    page = chromium.new_page()  # type: ignore[attr-defined]
    page.goto(job["consent_url"])
    page.wait_for_selector("#operator_pin")
    assert "Requested by site" in page.content() and page.inner_text("#origin") == SITE

    page.fill("#operator_pin", "000000")
    page.click("#sign")
    expect(page.locator("#msg")).to_have_class("err")  # the page's CSP forbids eval
    assert "operator PIN" in page.inner_text("#msg")
    assert page.input_value("#operator_pin") == ""  # the page never keeps what was typed
    state = httpx.get(f"{agent.http_url}/v1/signing/jobs/{job['job_id']}", timeout=10).json()
    assert state["status"] == "awaiting_consent"

    page.fill("#operator_pin", OPERATOR_PIN)
    page.click("#sign")
    expect(page.locator("#msg")).to_have_class("ok")
    screenshot(page, "simple-signature-operator-pin")
    assert "SIMPLE" in page.inner_text("#msg")
    done = httpx.get(f"{agent.http_url}/v1/signing/jobs/{job['job_id']}", timeout=10).json()
    assert done["status"] == "done" and done["level"] == "SIMPLE"
    for path in agent.settings.data_dir.rglob("*"):
        if path.is_file():
            assert OPERATOR_PIN.encode() not in path.read_bytes(), f"PIN found in {path}"
