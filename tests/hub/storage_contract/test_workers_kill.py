"""The production shape as separate OS processes on one PostgreSQL and one broker: three
`puente hub --role ingest` workers (MQTT, no HTTP) and two `puente hub --role api` processes
(HTTP API and console, no subscription).

- A clinician's live view open on API process 1 shows a reading that worker 3 ingested (the
  only worker running then): fanned out by LISTEN/NOTIFY, since no API process ingests.
- One worker is killed with SIGKILL in the middle of a burst and restarted (as systemd's
  Restart= does). The station re-sends what has no receipt (as the agent's uplink does):
  every event is stored exactly once, projected once, in station order.
- A console session opened on API process 1 works on API process 2; signing out on 2 ends
  it on 1.

The restart matters: workers keep a persistent MQTT session (clean_session=False), and Mosquitto
keeps handing a dead member of a $share group its turn of the messages, queued in its session
until it comes back under the same client id."""

from __future__ import annotations

import json
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.storage.base import Case
from hub.storage.postgres import PostgresStore
from hub.web.auth import LocalUsers, WebRole
from hub.web.session import COOKIE
from protos import events_pb2
from tests.brokers import Mosquitto, free_port, wait_port
from tests.hub.events import STATION, UNIT, vitals_event
from tests.hub.station import FakeStation

pytestmark = pytest.mark.e2e
EVENTS, PER_BATCH = 300, 10
PASSWORD = "correct horse battery staple 42"
T0 = "2026-01-01T00:00:00.000000Z"


class Process:
    """One `puente hub` process of a role, with its own config file and output file."""

    def __init__(self, tmp: Path, name: str, role: str, database: str, broker: Mosquitto) -> None:
        self.tmp, self.name, self.role = tmp, name, role
        self.port = free_port() if role == "api" else 0
        self.config = tmp / f"{name}.toml"
        self.config.write_text(
            f'data_dir = "{tmp / name}"\ndatabase_url = "{database}"\n'
            f'broker_url = "{broker.url}"\nhttp_port = {self.port}\n'
            f'mqtt_client_id = "{name}-{tmp.name}"\nshared_subscription = true\n'
            f'ingest_batch_wait_ms = 5\nweb_session_key_file = "{tmp / "session.key"}"\n'
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Process:
        out = self.tmp / f"{self.name}.out"
        out.write_bytes(b"")
        with out.open("ab") as sink:
            command = [sys.executable, "-m", "hub.cli", "--config", str(self.config)]
            self.proc = subprocess.Popen(
                [*command, "--role", self.role],
                stdout=sink,
                stderr=subprocess.DEVNULL,
                cwd=Path(__file__).parents[3],
            )
        if self.role == "api":
            wait_port(self.port, 30)
            return self
        deadline = time.monotonic() + 30  # an ingest worker has no port: it says so on stdout
        while b"subscribed" not in out.read_bytes():
            assert self.proc.poll() is None, f"{self.name} exited with {self.proc.returncode}"
            assert time.monotonic() < deadline, f"{self.name} never subscribed"
            time.sleep(0.05)
        return self

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()  # SIGKILL: no clean stop, no flush
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    try:
        yield started
    finally:
        for p in started:
            p.stop()


def _sign_in(client: httpx.Client) -> str:
    page = client.get("/console/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    r = client.post(
        "/console/login",
        data={"csrf": csrf.group(1), "name": "ana", "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return str(r.cookies[COOKIE])


def _home(url: str, cookie: str) -> int:
    r = httpx.get(f"{url}/console/", cookies={COOKIE: cookie}, follow_redirects=False)
    return r.status_code


def _watch(url: str, cookie: str, case_id: str, seen: queue.Queue[Any]) -> None:
    """The live view's SSE stream, each event put on `seen` as (kind, data)."""
    with httpx.stream(
        "GET",
        f"{url}/console/cases/{case_id}/live/stream",
        cookies={COOKIE: cookie},
        timeout=httpx.Timeout(60, connect=5),
    ) as r:
        seen.put(("status", r.status_code))
        kind = ""
        for line in r.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                seen.put((kind, json.loads(line.removeprefix("data: "))))
                if kind == "reading":
                    return


def test_ingest_workers_and_api_processes_live_view_kill_and_sessions(
    tmp_path: Path, mosquitto: Mosquitto, database: str, processes: list[Process]
) -> None:
    store = PostgresStore(database)
    store.migrate()
    store.register_station(STATION, UNIT, T0)
    store.open_case(Case("live-case", "1234567890", UNIT, T0, None, "ana"))
    LocalUsers(store).add("ana", WebRole.CLINICIAN, PASSWORD)
    api = [Process(tmp_path, f"api-{i}", "api", database, mosquitto) for i in (1, 2)]
    workers = [Process(tmp_path, f"worker-{i}", "ingest", database, mosquitto) for i in (1, 2, 3)]
    processes.extend(api + workers)
    for p in api:
        p.start()
    workers[2].start()  # worker 3 alone first: the live reading can only be its
    station = FakeStation(mosquitto.port)
    try:
        # -- a session opened on API 1 works on API 2; the live view open on API 1 ------------
        with httpx.Client(base_url=api[0].url) as browser:
            cookie = _sign_in(browser)
        assert _home(api[1].url, cookie) == 200
        seen: queue.Queue[Any] = queue.Queue()
        viewer = threading.Thread(
            target=_watch, args=(api[0].url, cookie, "live-case", seen), daemon=True
        )
        viewer.start()
        assert seen.get(timeout=10) == ("status", 200)
        assert seen.get(timeout=10)[0] == "hello"  # subscribed to the feed
        live = vitals_event(station_seq=1, case_id="live-case", spo2=91.0)
        batch = events_pb2.EventBatch(events=[live.SerializeToString()], oldest_pending_seq=1)
        batch.sent_at.GetCurrentTime()
        station.publish(batch.SerializeToString())
        assert station.take(1, timeout=30) == {live.event_id: (events_pb2.ACCEPTED, "")}
        kind, reading = seen.get(timeout=20)
        assert (kind, reading["event_id"], reading["value"]) == ("reading", live.event_id, 91.0)

        # -- a burst shared by three workers, one killed in the middle -----------------------
        workers[0].start()
        workers[1].start()
        events = [vitals_event(station_seq=s, case_id="burst") for s in range(2, EVENTS + 2)]
        receipted: dict[str, int] = {}

        def send(batch: list[events_pb2.Event]) -> None:
            pending = [e.station_seq for e in events if e.event_id not in receipted]
            msg = events_pb2.EventBatch(
                events=[e.SerializeToString() for e in batch],
                oldest_pending_seq=min(pending) if pending else 0,
            )
            msg.sent_at.GetCurrentTime()
            station.publish(msg.SerializeToString())

        def drain(wait: float) -> None:
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                try:
                    r = station.receipts.get(timeout=0.1)
                except queue.Empty:
                    continue
                receipted.setdefault(r.event_id, r.status)

        batches = [events[i : i + PER_BATCH] for i in range(0, EVENTS, PER_BATCH)]
        for n, batch_events in enumerate(batches):
            send(batch_events)
            if n == len(batches) // 2:
                workers[0].kill()
        time.sleep(2.0)  # systemd's RestartSec
        workers[0].start()  # the same client id
        deadline = time.monotonic() + 120
        while len(receipted) < EVENTS and time.monotonic() < deadline:
            drain(3.0)
            missing = [e for e in events if e.event_id not in receipted]
            for i in range(0, len(missing), PER_BATCH):  # the uplink's re-send, in order
                send(missing[i : i + PER_BATCH])
        drain(1.0)
        assert len(receipted) == EVENTS, f"{EVENTS - len(receipted)} events never receipted"
        assert set(receipted.values()) <= {events_pb2.ACCEPTED, events_pb2.DUPLICATE}
        rows = store.case_timeline("burst", EVENTS * 2, None).items
        assert len(rows) == EVENTS  # 0 lost, 0 duplicated
        assert len(store.readings().readings("burst", None, None)) == EVENTS  # projected once
        by_ingest = sorted(rows, key=lambda e: e.ingest_seq)
        assert [e.station_seq for e in by_ingest] == list(range(2, EVENTS + 2))  # order kept

        # -- signing out on API 2 ends the session on API 1 ----------------------------------
        with httpx.Client(base_url=api[1].url, cookies={COOKIE: cookie}) as browser:
            page = browser.get("/console/").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', page)
            assert csrf is not None
            out = browser.post(
                "/console/logout", data={"csrf": csrf.group(1)}, follow_redirects=False
            )
            assert out.status_code == 303
        assert _home(api[0].url, cookie) == 303
        assert _home(api[1].url, cookie) == 303
    finally:
        station.close()
        store.close()
