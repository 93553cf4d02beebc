"""The browser bridge in real Chromium: an allowed site works, a foreign one is refused; pairing."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from tests.brokers import free_port
from tests.browser.conftest import ROOT, screenshot
from tests.grpc_apps import OPERATOR_PIN

pytestmark = pytest.mark.e2e

PAGE = """<!doctype html><html lang="es"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><p id="code"></p></body></html>"""


@pytest.fixture
def site(tmp_path: Path, serve_pages: Callable[[Path], int]) -> Callable[[str], str]:
    """A web origin serving the JS client and an empty page; returns its origin."""

    def make(name: str) -> str:
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(ROOT / "clients/js/puente.js", folder / "puente.js")
        (folder / "index.html").write_text(PAGE.format(title=name))
        return f"http://127.0.0.1:{serve_pages(folder)}"

    return make


@pytest.fixture
def agent_for(tmp_path: Path) -> Iterator[Callable[[list[str]], AgentService]]:
    started: list[AgentService] = []

    def start(allowed: list[str], extra_devices: list[dict] | None = None) -> AgentService:
        agent = AgentService(
            AgentSettings(
                station_id="st-browser",
                unit_id="unit-1",
                data_dir=tmp_path / "agent",
                broker_url=f"mqtt://127.0.0.1:{free_port()}",
                http_port=0,
                grpc_port=0,
                allowed_origins=allowed,
                devices=[
                    {
                        "device_id": "monitor-1",
                        "driver": "sim.monitor",
                        "options": {"interval_s": 0.05},
                    },
                    *(extra_devices or []),
                ],
            )
        )
        agent.start()
        assert agent.wait_ready(10)
        started.append(agent)
        return agent

    yield start
    for agent in started:
        agent.stop()


def _call(page: object, agent_url: str, body: str) -> object:
    """Run ``body`` in the page with ``agent`` (a PuenteAgent) and the module's classes."""
    script = f"""async () => {{
        const m = await import('/puente.js');
        const agent = new m.PuenteAgent({{url: {json.dumps(agent_url)}}});
        try {{ {body} }}
        catch (e) {{ return {{error: e.name, code: e.code, message: String(e.message)}}; }}
    }}"""
    return page.evaluate(script)  # type: ignore[attr-defined]


def _audit(agent: AgentService) -> list[dict]:
    return [
        json.loads(line)
        for line in (agent.settings.data_dir / "audit.log").read_text().splitlines()
    ]


def test_an_allowed_site_takes_vitals_and_a_foreign_site_is_refused(
    chromium: object, site: Callable[[str], str], agent_for: Callable[..., AgentService]
) -> None:
    allowed, foreign = site("medi"), site("foreign")
    agent = agent_for([allowed])
    page = chromium.new_page()  # type: ignore[attr-defined]
    page.goto(f"{allowed}/index.html")
    result = _call(
        page,
        agent.http_url,
        """const s = await agent.status();
           const v = await agent.takeVitals({deviceId: 'monitor-1', caseId: 'C-1',
                                             patientId: '1234567890101', timeoutS: 2});
           return {station: s.station_id, readings: v.readings.length, id: v.event_id};""",
    )
    assert result["station"] == "st-browser", result
    assert result["readings"] == 6

    other = chromium.new_page()  # type: ignore[attr-defined]
    other.goto(f"{foreign}/index.html")
    refused = _call(other, agent.http_url, "await agent.status(); return {ok: true};")
    assert (refused["error"], refused["code"]) == ("AgentUnreachable", "agent_unreachable")
    refused_write = _call(
        other,
        agent.http_url,
        """await agent.takeVitals({deviceId: 'monitor-1', caseId: 'C-1', patientId: 'x'});
           return {ok: true};""",
    )
    assert refused_write["error"] == "AgentUnreachable"
    sse = other.evaluate(  # an EventSource is refused the same way
        """(url) => new Promise((resolve) => {
            const es = new EventSource(url);
            es.onopen = () => { es.close(); resolve('open'); };
            es.onerror = () => { es.close(); resolve('refused'); };
        })""",
        f"{agent.http_url}/v1/status",
    )
    assert sse == "refused"
    refusals = [e for e in _audit(agent) if e["origin"] == foreign]
    assert {e["decision"] for e in refusals} == {"origin_not_allowed"}
    assert len(refusals) >= 3
    # Only the allowed site's reading reached the outbox (plus the monitor's status events).
    kinds = agent.status.status().outbox.depth
    assert kinds >= 1


def test_dns_rebinding_cannot_reach_the_agent(
    chromium: object, agent_for: Callable[..., AgentService]
) -> None:
    agent = agent_for([])
    page = chromium.new_page()  # type: ignore[attr-defined]
    response = page.goto(f"http://rebind.test:{agent.http_port}/ui/pairing")
    assert response.status == 421
    assert "host_not_allowed" in page.content()
    same_origin = page.evaluate("async () => (await fetch('/v1/status')).status")
    assert same_origin == 421


def test_a_site_pairs_through_the_agents_page_and_loses_access_when_revoked(
    chromium: object, site: Callable[[str], str], agent_for: Callable[..., AgentService]
) -> None:
    newcomer = site("telemedicina")
    agent = agent_for([])
    page = chromium.new_page()  # type: ignore[attr-defined]
    page.goto(f"{newcomer}/index.html")
    must_pair = _call(page, agent.http_url, "return await agent.pairingStatus();")
    assert must_pair["allowed"] is False and must_pair["paired"] is False

    page.evaluate(
        """async (url) => {
            const m = await import('/puente.js');
            window.agent = new m.PuenteAgent({url});
            window.paired = window.agent.pair({
                appName: 'Telemedicina', pollMs: 200,
                onCode: (code) => { document.getElementById('code').textContent = code; },
            });
        }""",
        agent.http_url,
    )
    page.wait_for_function("document.getElementById('code').textContent.length === 6")
    code = page.inner_text("#code")
    screenshot(page, "pairing-site-shows-code")

    agent.operator_pin.set(OPERATOR_PIN)  # ops set it up at the station
    agent_page = chromium.new_page()  # type: ignore[attr-defined]
    agent_page.goto(f"{agent.http_url}/ui/pairing")
    card = agent_page.locator(f"[data-code='{code}']")
    card.wait_for(timeout=10_000)
    screenshot(agent_page, "pairing-agent-page")
    agent_page.get_by_role("button", name="Aprobar / Approve").click()  # no PIN typed
    expect(agent_page.locator("#msg")).to_contain_text("operator PIN")
    expect(card).to_be_visible()  # still pending
    agent_page.fill("#operator_pin", OPERATOR_PIN)
    agent_page.get_by_role("button", name="Aprobar / Approve").click()

    token = page.evaluate("async () => await window.paired")
    assert isinstance(token, str) and len(token) > 20
    ok = page.evaluate("async () => (await window.agent.status()).station_id")
    assert ok == "st-browser"

    agent_page.wait_for_selector("#paired tr")
    agent_page.get_by_role("button", name="Revocar / Revoke").click()
    expect(agent_page.locator("#paired tr")).to_have_count(0)  # the page's CSP forbids eval
    after = page.evaluate(
        """async () => { try { await window.agent.status(); return 'ok'; }
                         catch (e) { return e.name; } }"""
    )
    assert after == "AgentUnreachable"
    status = page.evaluate("async () => await window.agent.pairingStatus()")
    assert status["paired"] is False
    decisions = [e["decision"] for e in _audit(agent)]
    assert decisions[:4] == [
        "pairing_requested",
        "pairing_approval_refused",  # the click without the operator PIN
        "pairing_approved",
        "pairing_token_claimed",
    ]
    assert "pairing_revoked" in decisions


def test_an_allowed_site_scans_with_progress_and_watches_a_live_vitals_stream(
    chromium: object, site: Callable[[str], str], agent_for: Callable[..., AgentService]
) -> None:
    from tests.scanning import sane_device

    allowed = site("medi")
    agent = agent_for(
        [allowed], [{"device_id": "scanner-1", "driver": "sane", "options": sane_device()}]
    )
    page = chromium.new_page()  # type: ignore[attr-defined]
    page.goto(f"{allowed}/index.html")
    scanned = _call(
        page,
        agent.http_url,
        """const progress = [];
           const job = await agent.scan({deviceId: 'scanner-1', caseId: 'C-9',
             patientId: '1234567890101', documentType: 'external_lab_result',
             source: 'feeder', resolutionDpi: 75, expectedPages: 3,
             onProgress: (j) => progress.push(j.pages_scanned)});
           return {state: job.state, pages: job.result.pages, progress};""",
    )
    assert scanned.get("state") == "done", scanned
    assert scanned["pages"] >= 3
    assert scanned["progress"] == sorted(scanned["progress"])  # page n of m, in order

    streamed = _call(
        page,
        agent.http_url,
        """const s = await agent.startVitalsSession({deviceId: 'monitor-1', caseId: 'C-9',
                                                    patientId: '1234567890101'});
           const got = [];
           await new Promise((resolve) => {
             const stop = agent.watchVitals(s.session_id, {onReading: (r) => {
               got.push(r.mdc_code); if (got.length >= 12) { stop(); resolve(); } }});
           });
           await agent.stopVitalsSession(s.session_id);
           return {codes: [...new Set(got)].sort()};""",
    )
    assert len(streamed["codes"]) == 6, streamed


def test_an_allowed_site_enrolls_and_verifies_a_finger_and_the_station_can_refuse(
    chromium: object,
    site: Callable[[str], str],
    agent_for: Callable[..., AgentService],
    tmp_path: Path,
) -> None:
    allowed = site("admision")
    agent = agent_for(
        [allowed],
        [{"device_id": "reader-1", "driver": "sim.fingerprint", "options": {"seed": 9}}],
    )
    page = chromium.new_page()  # type: ignore[attr-defined]
    page.goto(f"{allowed}/index.html")
    result = _call(
        page,
        agent.http_url,
        """const who = {deviceId: 'reader-1', caseId: 'C-7', patientId: '1234567890101'};
           const e = await agent.enrollFinger({...who, finger: 'RIGHT_INDEX'});
           const v = await agent.verifyFinger({...who, step: 'admission'});
           return {qualities: e.impression_quality.length, decision: v.decision,
                   source: v.templates_source};""",
    )
    assert result == {"qualities": 3, "decision": "MATCH", "source": "cache"}, result
    recent = [
        (a["action"], a["origin"], a["case_id"], a["state"])
        for a in agent.activity.snapshot()["recent"]
    ]
    assert recent[:2] == [
        ("fingerprint.verify", allowed, "C-7", "done"),
        ("fingerprint.enroll", allowed, "C-7", "done"),
    ]


SANDBOXED = """<!doctype html><html><head><meta charset="utf-8"><title>sandbox</title></head>
<body><p id="out"></p>
<iframe sandbox="allow-scripts" srcdoc="<script>
  fetch('{agent}/v1/pairing/requests', {{method: 'POST',
        headers: {{'Content-Type': 'application/json'}}, body: '{{}}'}})
    .then((r) => parent.postMessage('status:' + r.status, '*'))
    .catch((e) => parent.postMessage('refused:' + e.name, '*'));
</script>"></iframe>
<script>addEventListener('message', (e) => {{
  document.getElementById('out').textContent = e.data; }});</script>
</body></html>"""


def test_a_sandboxed_iframe_origin_null_cannot_pair(
    chromium: object,
    site: Callable[[str], str],
    agent_for: Callable[..., AgentService],
    tmp_path: Path,
) -> None:
    host = site("host")
    agent = agent_for([])
    (tmp_path / "host" / "sandbox.html").write_text(SANDBOXED.format(agent=agent.http_url))
    page = chromium.new_page()  # type: ignore[attr-defined]
    page.goto(f"{host}/sandbox.html")
    page.wait_for_function("document.getElementById('out').textContent.length > 0")
    assert page.inner_text("#out") == "refused:TypeError"  # no CORS answer for "null"
    assert agent.pairings.pending() == []
    decisions = [(e["decision"], e["origin"]) for e in _audit(agent)]
    assert ("origin_null", "null") in decisions
