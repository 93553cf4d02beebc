"""Real hub and agent processes for end-to-end tests, each killable with SIGKILL and restartable."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import grpc
import httpx

from edge_agent.grpc_auth import authenticated_channel
from protos import agent_pb2, agent_pb2_grpc, events_pb2
from tests.brokers import free_port, wait_port
from tests.grpc_apps import issue_in_data_dir

ORIGIN = "https://medi.example.test"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):  # inline table, keys quoted
        return "{" + ", ".join(f'"{k}" = {_toml_value(v)}' for k, v in value.items()) + "}"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_toml(path: Path, values: dict[str, Any]) -> Path:
    path.write_text("".join(f"{key} = {_toml_value(v)}\n" for key, v in values.items()))
    return path


class Process:
    """A ``puente`` sub-command in its own process."""

    umask = -1  # the process's umask; -1: inherit the test's
    module = "puente_cli.main"  # the ``puente`` console script

    def __init__(self, name: str, workdir: Path, argv: list[str]) -> None:
        self.name = name
        self.workdir = workdir
        self.argv = argv
        self.proc: subprocess.Popen[bytes] | None = None
        self.env: dict[str, str] = {}  # extra environment (e.g. libfaketime for a wrong clock)

    def spawn(self) -> None:
        log = open(self.workdir / f"{self.name}.log", "ab")  # noqa: SIM115 - lives with the process
        env = dict(os.environ, PYTHONUNBUFFERED="1", **self.env)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module, *self.argv],
            stdout=log,
            stderr=log,
            cwd=self.workdir,
            env=env,
            umask=self.umask,
        )

    def kill(self) -> None:
        """SIGKILL: no clean-up, no flush, as when the PC loses power."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def log_tail(self, lines: int = 40) -> str:
        path = self.workdir / f"{self.name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def assert_alive(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, (
            f"{self.name} exited with {self.proc and self.proc.returncode}:\n{self.log_tail()}"
        )


class Hub(Process):
    def __init__(self, workdir: Path, broker_url: str, token: str, **settings: Any) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.token = token
        values: dict[str, Any] = {
            "data_dir": str(workdir / "data"),
            "broker_url": broker_url,
            "http_port": self.port,
            "bootstrap_token": token,
            "mqtt_client_id": f"hub-{self.port}",
            "log_level": "INFO",
        }
        values.update(settings)
        self.config = write_toml(workdir / "hub.toml", values)
        super().__init__("hub", workdir, ["hub", "--config", str(self.config)])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db_path(self) -> Path:
        return self.workdir / "data" / "hub.sqlite3"

    def start(self) -> Hub:
        self.spawn()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            self.assert_alive()
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        tail = self.log_tail()
        self.stop()  # a hub that never became healthy must not outlive the test that made it
        raise TimeoutError(f"hub did not become healthy:\n{tail}")

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=10
        )

    def register_station(self, station_id: str, unit_id: str) -> None:
        with self.api() as api:
            response = api.post("/v1/stations", json={"station_id": station_id, "unit_id": unit_id})
            assert response.status_code in (200, 201, 409), response.text

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read the hub's real SQLite file (read-only) to check exact counts."""
        con = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()

    def stored(self, station_id: str) -> list[tuple[str, int]]:
        """(event_id, station_seq) of a station's events, in the order the hub stored them."""
        return [
            (str(r[0]), int(r[1]))
            for r in self.query(
                "SELECT event_id, station_seq FROM events WHERE station_id = ? ORDER BY ingest_seq",
                station_id,
            )
        ]


class Agent(Process):
    """The agent as its systemd unit runs it: ``python -m puente_cli.agent --config FILE``
    (what ``puente agent`` becomes by ``os.execv``)."""

    module = "puente_cli.agent"

    def __init__(
        self, workdir: Path, station_id: str, unit_id: str, broker_url: str, **settings: Any
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.station_id = station_id
        self.unit_id = unit_id
        self.http_port = free_port()
        self.grpc_port = free_port()
        values: dict[str, Any] = {
            "station_id": station_id,
            "unit_id": unit_id,
            "data_dir": str(workdir / "data"),
            "broker_url": broker_url,
            "http_port": self.http_port,
            "grpc_port": self.grpc_port,
            "allowed_origins": [ORIGIN],
            "receipt_timeout_s": 3.0,
            "reconnect_min_s": 0.2,
            "reconnect_max_s": 1.0,
            "log_level": "INFO",
        }
        values.update(settings)
        self.config = write_toml(workdir / "agent.toml", values)
        super().__init__(f"agent-{station_id}", workdir, ["--config", str(self.config)])
        self._channel: grpc.Channel | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> Agent:
        self.spawn()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            self.assert_alive()
            try:
                if httpx.get(f"{self.url}/v1/status", timeout=1).status_code == 200:
                    wait_port(self.grpc_port)
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"agent did not start:\n{self.log_tail()}")

    def stop(self) -> None:
        self.close_channel()
        super().stop()

    def close_channel(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    def channel(self) -> grpc.Channel:
        if self._channel is None:
            # What ops do at the station: a credential for the app (puente agent app-credential).
            credential = issue_in_data_dir(self.workdir / "data", f"e2e-{self.station_id}")
            self._channel = authenticated_channel(f"127.0.0.1:{self.grpc_port}", credential)
        return self._channel

    def stub(self) -> agent_pb2_grpc.AgentStub:
        return agent_pb2_grpc.AgentStub(self.channel())

    def status(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/v1/status", timeout=5).json())

    def outbox_depth(self) -> int:
        return int(self.status()["outbox"]["depth"])


def vitals_request(case_id: str, n: int) -> agent_pb2.RecordEventRequest:
    """A clinical fact as native station software would record it."""
    event = events_pb2.Event(case_id=case_id, patient_id="1234567890101", device_id="monitor-1")
    reading = event.vital_signs.readings.add()
    reading.mdc_code = 150456
    reading.mdc_refid = "MDC_PULS_OXIM_SAT_O2"
    reading.value = 90 + n % 10
    reading.unit = "%"
    reading.measured_at.GetCurrentTime()
    event.vital_signs.mode = "spot"
    return agent_pb2.RecordEventRequest(event=event)


def record_burst(
    agent: Agent,
    count: int,
    case_id: str = "CASE-E2E",
    concurrency: int = 32,
    stop_on_failure: bool = False,
) -> tuple[list[str], int]:
    """Record ``count`` events through gRPC, ``concurrency`` calls at a time.

    Returns the event ids the agent acknowledged and the number of failed calls;
    with ``stop_on_failure`` no new call starts after one failed (agent killed).
    """
    stub = agent.stub()
    acknowledged: list[str] = []
    failed = 0
    pending: list[grpc.Future] = []
    sent = 0
    while sent < count or pending:
        while sent < count and len(pending) < concurrency:
            pending.append(stub.RecordEvent.future(vitals_request(case_id, sent), timeout=30))
            sent += 1
        head = pending.pop(0)
        try:
            acknowledged.append(head.result().event_id)
        except grpc.RpcError:
            failed += 1
            if stop_on_failure:
                count = sent
    return acknowledged, failed


def wait_until(predicate: Any, timeout_s: float, what: str, interval_s: float = 0.2) -> None:
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what} (last: {last!r})")


def assert_in_station_order(stored: list[tuple[str, int]]) -> None:
    seqs = [seq for _, seq in stored]
    assert seqs == sorted(seqs), "the hub stored a station's events out of order"


def assert_contiguous(stored: list[tuple[str, int]]) -> None:
    """Every outbox position 1..max is stored exactly once: nothing lost, nothing twice."""
    seqs = sorted(seq for _, seq in stored)
    assert len(seqs) == len(set(seqs)), "an event was stored twice"
    missing = sorted(set(range(1, seqs[-1] + 1)) - set(seqs)) if seqs else []
    assert seqs == list(range(1, len(seqs) + 1)), f"lost events at positions {missing[:20]}"
