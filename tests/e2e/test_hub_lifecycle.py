"""The hub process stops cleanly and says when it cannot write: real hub, Mosquitto, SQLite."""

from __future__ import annotations

import os
import secrets
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.brokers import Mosquitto
from tests.e2e.processes import Agent, Hub, record_burst, wait_until

pytestmark = pytest.mark.e2e


def test_hub_stops_cleanly_on_sigterm_while_the_broker_is_down(
    mosquitto: Mosquitto, hub: Hub, make_agent: Callable[..., Agent]
) -> None:
    """Events reach the hub's socket, the broker dies before their receipts can go out, then
    ops stop the hub: it commits what it has, cannot answer, and exits 0 all the same."""
    agent = make_agent("station-term")
    acknowledged, failed = record_burst(agent, 50)
    assert failed == 0
    wait_until(lambda: len(hub.stored("station-term")) == 50, 20, "first events stored")
    assert hub.proc is not None
    hub.proc.send_signal(signal.SIGSTOP)  # frozen: what arrives now waits in its socket
    try:
        _, failed = record_burst(agent, 200)
        assert failed == 0
        wait_until(lambda: agent.status()["link"]["in_flight"] > 0, 10, "events sent")
        mosquitto.kill()
    finally:
        hub.proc.send_signal(signal.SIGCONT)
    # The hub reads what the broker had written to it, commits it, and finds no broker.
    wait_until(
        lambda: len(hub.stored("station-term")) > 50, 20, "events read after the broker died"
    )
    hub.proc.send_signal(signal.SIGTERM)
    code = hub.proc.wait(30)
    log = hub.log_tail(60)
    assert code == 0, f"hub exited {code}:\n{log}"
    assert "Traceback" not in log, log
    stored = {event_id for event_id, _ in hub.stored("station-term")}
    assert set(acknowledged) <= stored


def _health(hub: Hub) -> tuple[int, dict[str, Any]]:
    response = httpx.get(f"{hub.url}/healthz", timeout=15)
    return response.status_code, response.json()


def test_healthz_fails_while_another_process_holds_the_write_lock(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """A backup tool (say) holds the hub database's write lock: reads still work, writes do
    not, and /healthz says so with the cause; once the lock goes, it is healthy again and
    the events recorded meanwhile are stored."""
    hub = Hub(tmp_path / "hub", mosquitto.url, secrets.token_urlsafe(16), **FAST_PROBE).start()
    try:
        assert _health(hub)[0] == 200
        locker = sqlite3.connect(hub.db_path, isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")  # the write lock, held by another process's connection
        try:
            wait_until(lambda: _health(hub)[0] == 503, 15, "/healthz to fail")
            status, body = _health(hub)
            assert body["code"] == "db_not_writable"
            assert body["db"] is True and body["db_writable"] is False
            assert "locked" in body["detail"] and "bloqueada" in body["detail"]
            assert status == body["status"] == 503
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        wait_until(lambda: _health(hub)[0] == 200, 15, "/healthz to recover")
    finally:
        hub.stop()


def test_healthz_fails_when_the_database_turns_read_only(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """Ops (or a mis-set deployment) leave the database file read-only for the hub's user: a
    new connection can only read it. /healthz names it; fixed, it is healthy again."""
    hub = UnprivilegedHub(
        tmp_path / "hub", mosquitto.url, secrets.token_urlsafe(16), **FAST_PROBE
    ).start()
    try:
        assert _health(hub)[0] == 200
        hub.db_path.chmod(0o444)
        try:
            wait_until(lambda: _health(hub)[0] == 503, 15, "/healthz to fail")
            body = _health(hub)[1]
            assert body["code"] == "db_not_writable"
            assert "read-only" in body["detail"] and "solo lectura" in body["detail"]
        finally:
            hub.db_path.chmod(0o644)
        wait_until(lambda: _health(hub)[0] == 200, 15, "/healthz to recover")
    finally:
        hub.stop()


FAST_PROBE = {"health_write_probe_s": 0.2, "health_write_timeout_s": 0.5}


class UnprivilegedHub(Hub):
    """The hub without root's power to write through file permissions (when tests run as
    root: CAP_DAC_OVERRIDE dropped by util-linux's setpriv, so the owner's bits apply)."""

    def spawn(self) -> None:
        if os.geteuid() != 0:
            super().spawn()
            return
        log = open(self.workdir / f"{self.name}.log", "ab")  # noqa: SIM115 - lives with the process
        self.proc = subprocess.Popen(
            [
                "setpriv",
                "--bounding-set=-dac_override,-dac_read_search",
                "--",
                sys.executable,
                "-m",
                "puente_cli.main",
                *self.argv,
            ],
            stdout=log,
            stderr=log,
            cwd=self.workdir,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
