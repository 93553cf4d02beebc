"""A real hub app (SQLite file, uvicorn on a free port) and real contract events for console tests.

No broker: events go through the store's real ingest commit (`commit_ingest`, which runs the
projections) and the live feed's real after-commit hook, as the MQTT pipeline would call them.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn

from hub.api.app import create_app
from hub.fleet import FleetService
from hub.ingest.timefmt import iso_utc
from hub.metrics import HubMetrics
from hub.settings import HubSettings
from hub.storage.base import Case, EventRow
from hub.storage.sqlite import SQLiteStore
from hub.tokens import Role, create_token
from hub.web.auth import LocalUsers, WebRole
from protos import CONTRACT_VERSION, events_pb2
from protos.event_ids import new_event_id
from tests.brokers import free_port

PASSWORD = "correct horse battery"
STATION, UNIT = "tele-zacapa-1", "U-ZACAPA"
WIDTHS = (1366, 390)

# MDC codes and UCUM units as a monitor sends them.
MDC = {
    "spo2": (150456, "%"),
    "heart_rate": (147842, "/min"),
    "bp_systolic": (150021, "mm[Hg]"),
    "bp_diastolic": (150022, "mm[Hg]"),
    "body_temperature": (150364, "Cel"),
}


@dataclass
class Site:
    url: str
    store: SQLiteStore
    app: Any
    api_headers: dict[str, str]
    seq: int = 0

    def event(self, case_id: str, patient_id: str, at: datetime) -> events_pb2.Event:
        self.seq += 1
        event = events_pb2.Event(
            event_id=new_event_id(),
            station_id=STATION,
            unit_id=UNIT,
            device_id="monitor-1",
            case_id=case_id,
            patient_id=patient_id,
            station_seq=self.seq,
            schema_version=CONTRACT_VERSION,
        )
        event.occurred_at.FromDatetime(at)
        return event

    def vitals(
        self,
        case_id: str,
        patient_id: str,
        at: datetime,
        values: dict[str, float],
        mode: str = "spot",
        session_id: str = "",
    ) -> events_pb2.Event:
        event = self.event(case_id, patient_id, at)
        for key, value in values.items():
            code, unit = MDC[key]
            reading = event.vital_signs.readings.add(mdc_code=code, value=value, unit=unit)
            reading.measured_at.CopyFrom(event.occurred_at)
        event.vital_signs.mode = mode
        event.vital_signs.session_id = session_id
        return event

    def confirmation(self, case_id: str, patient_id: str, at: datetime) -> events_pb2.Event:
        event = self.event(case_id, patient_id, at)
        c = event.biometric_confirmation
        c.step = "admission"
        c.decision = events_pb2.MATCH
        c.score, c.threshold = 61.5, 40.0
        return event

    def ingest(self, *events: events_pb2.Event) -> None:
        rows = [
            EventRow(
                event_id=e.event_id,
                station_id=e.station_id,
                unit_id=e.unit_id,
                device_id=e.device_id,
                case_id=e.case_id,
                patient_id=e.patient_id,
                kind=e.WhichOneof("payload") or "",
                occurred_at=iso_utc(e.occurred_at.seconds, e.occurred_at.nanos),
                station_seq=e.station_seq,
                received_at=iso_utc(int(time.time())),
                clock_offset_ms=0,
                raw=e.SerializeToString(),
            )
            for e in events
        ]
        self.store.commit_ingest(rows, [], [])
        self.store.render_pending_payloads(10_000)
        vitals = getattr(self.app.state, "vitals", None)
        if vitals is not None:
            vitals.on_commit(rows)

    def device_status(self, station_id: str, unit_id: str, state: int, seq: int) -> None:
        event = events_pb2.Event(
            event_id=new_event_id(),
            station_id=station_id,
            unit_id=unit_id,
            device_id="monitor-1",
            station_seq=seq,
            schema_version=CONTRACT_VERSION,
        )
        event.occurred_at.GetCurrentTime()
        event.device_status.family = "vitals"
        event.device_status.state = state  # type: ignore[assignment]
        self.ingest(event)

    def open_case(self, case_id: str, patient_id: str) -> None:
        self.store.open_case(Case(case_id, patient_id, UNIT, iso_utc(int(time.time())), None, "t"))


def serve(tmp_path: Path) -> Iterator[Site]:
    store = SQLiteStore(tmp_path / "hub.sqlite3")
    store.migrate()
    store.register_station(STATION, UNIT, "2026-01-01T00:00:00.000000Z")
    settings = HubSettings(data_dir=tmp_path / "hub")
    app = create_app(store, HubMetrics(), settings=settings)
    app.state.fleet = FleetService(settings, store)
    users = LocalUsers(store)
    users.add("ana", WebRole.CLINICIAN, PASSWORD)
    users.add("oscar", WebRole.OPS, PASSWORD)
    token = create_token(store, "his", Role.OPS)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield Site(f"http://127.0.0.1:{port}", store, app, {"Authorization": f"Bearer {token}"})
    finally:
        server.should_exit = True
        thread.join(10)
        store.close()


def sign_in(page: Any, url: str, name: str) -> None:
    """Sign in as a Guatemalan browser would (Spanish first)."""
    page.set_extra_http_headers({"Accept-Language": "es-GT,es;q=0.9,en;q=0.5"})
    page.goto(f"{url}/console/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/console/login'] button[type=submit]")
    page.wait_for_load_state()


# scripts/console_screenshots.py sets PUENTE_DOCS_SHOTS to docs/img: the screenshots of these
# flows are then also written there, cut to the first screens and reduced to a small palette.
DOCS_SHOTS_ENV = "PUENTE_DOCS_SHOTS"
DOCS_SHOTS = ("case-es", "cases-es", "central", "case-stream", "audit", "users", "fleet")
DOCS_MAX_HEIGHT = {1366: 1300, 390: 1800}


def check_widths(page: Any, url: str, name: str, shots: Path) -> None:
    """Screenshots at desktop and phone widths; nothing wider than the screen at either."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(url)
        page.wait_for_load_state()
        page.wait_for_timeout(150)
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
        scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll <= inner, f"{name} at {width} px: page {scroll} px wide > {inner} px"
        docs = os.environ.get(DOCS_SHOTS_ENV, "")
        if docs and name in DOCS_SHOTS:
            docs_screenshot(page, Path(docs) / f"{name}-{width}.png", width)


def docs_screenshot(page: Any, path: Path, width: int) -> None:
    """The page's first screens as a small PNG for the docs (64 colours, optimised)."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    height = min(page.evaluate("document.documentElement.scrollHeight"), DOCS_MAX_HEIGHT[width])
    clip = {"x": 0, "y": 0, "width": width, "height": height}
    page.screenshot(path=str(path), full_page=True, clip=clip)
    with Image.open(path) as shot:
        small = shot.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]
