"""The agent's own pages in real Chromium: consents and approvals need the operator PIN."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from playwright.sync_api import expect

from drivers.fingerprint.base import CaptureCancelled
from edge_agent.grpc_auth import authenticated_channel, pair_app
from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from protos import events_pb2, fingerprint_pb2, fingerprint_pb2_grpc
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
    assert "Requested by site (as the browser's Origin header says)" in page.content()
    assert page.inner_text("#origin") == SITE

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


def test_a_local_app_pairs_on_the_agents_page_and_its_capture_is_refused_there(
    chromium: object, tmp_path: Path
) -> None:
    """gRPC app → code on /ui/pairing → PIN + approve in Chromium → its capture listed, refused."""
    agent = AgentService(
        AgentSettings(
            station_id="st-app",
            unit_id="unit-1",
            data_dir=tmp_path / "agent-app",
            broker_url=f"mqtt://127.0.0.1:{free_port()}",
            http_port=0,
            grpc_port=0,
            devices=[{"device_id": "fp-1", "driver": "sim.fingerprint", "options": {}}],
        )
    )
    agent.operator_pin.set(OPERATOR_PIN)
    agent.start()
    try:
        assert agent.wait_ready(10)
        reader = agent.devices.get("fp-1").device
        touch = reader.capture  # type: ignore[union-attr]

        def waiting_for_a_finger(timeout_s: float) -> object:  # nobody touches the reader
            if reader._cancel.wait(timeout_s):  # type: ignore[union-attr]
                raise CaptureCancelled("capture cancelled / captura cancelada")
            return touch(timeout_s)

        reader.capture = waiting_for_a_finger  # type: ignore[union-attr]
        page = chromium.new_page()  # type: ignore[attr-defined]
        page.goto(f"{agent.http_url}/ui/pairing")

        def approve_on_the_page(code: str, approve_at: str) -> None:
            card = page.locator("#pending .card", has=page.locator(f"[data-code='{code}']"))
            card.wait_for(timeout=10_000)
            assert "Local application (name it declares): Admision HIS" in card.inner_text()
            page.fill("#operator_pin", OPERATOR_PIN)
            page.get_by_role("button", name="Aprobar / Approve").click()

        credential = pair_app(agent.grpc_target, "Admision HIS", approve_on_the_page, 30, 0.1)
        outcome: list[object] = []

        def enroll() -> None:
            with authenticated_channel(agent.grpc_target, credential) as channel:
                try:
                    outcome.append(
                        fingerprint_pb2_grpc.FingerprintStub(channel).Enroll(
                            fingerprint_pb2.EnrollRequest(
                                device_id="fp-1",
                                case_id="C-APP",
                                patient_id="P-APP",
                                finger=events_pb2.RIGHT_INDEX,
                                timeout_s=30,
                            ),
                            timeout=40,
                        )
                    )
                except grpc.RpcError as exc:
                    outcome.append(exc.code())

        caller = threading.Thread(target=enroll)
        caller.start()
        card = page.locator("#running .card")
        expect(card).to_contain_text("Authenticated app: Admision HIS", timeout=10_000)
        expect(card).to_contain_text("C-APP")
        screenshot(page, "grpc-app-action-on-the-board")
        card.get_by_role("button", name="Rechazar / Refuse").click()
        caller.join(15)
        assert outcome == [grpc.StatusCode.CANCELLED]
        expect(page.locator("#recent")).to_contain_text("refused", timeout=10_000)
    finally:
        agent.stop()
