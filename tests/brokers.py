"""A real Mosquitto for tests: started from a temp config on a free loopback port, killable."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout_s: float = 10.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout_s}s")


class Mosquitto:
    """One broker process. ``kill()`` is SIGKILL; ``start()`` again reuses the port."""

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        persistence: bool = False,
        production_limits: bool = False,
    ) -> None:
        """``production_limits``: the queue and in-flight bounds `puente hub broker-config`
        writes (benchmarks measure what production runs); else unbounded."""
        from provisioning.mosquitto import delivery_settings

        self.workdir = workdir
        self.port = port or free_port()
        self.persistence = persistence
        self.proc: subprocess.Popen[bytes] | None = None
        workdir.mkdir(parents=True, exist_ok=True)
        self.conf = workdir / "mosquitto.conf"
        if production_limits:
            delivery = delivery_settings(workdir if persistence else None)
        else:
            delivery = [
                f"persistence {'true' if persistence else 'false'}",
                f"persistence_location {workdir}/",
                "max_inflight_messages 0",
                "max_queued_messages 0",
            ]
        self.conf.write_text(
            "\n".join(
                [
                    f"listener {self.port} 127.0.0.1",
                    "allow_anonymous true",
                    # As root Mosquitto drops to its own user, who cannot write pytest's tmp:
                    # its persistence file would silently never be saved.
                    *(["user root"] if persistence and os.geteuid() == 0 else []),
                    *delivery,
                    "log_dest stderr",
                    "log_type error",
                    "log_type warning",
                    "",
                ]
            )
        )

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> Mosquitto:
        log = open(self.workdir / "mosquitto.log", "ab")  # noqa: SIM115 - lives with the process
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=log, stderr=log)
        wait_port(self.port)
        return self

    def save(self) -> None:
        """SIGUSR1: Mosquitto writes its persistence file now (what ``autosave_interval``
        does), e.g. before a SIGKILL meant to look like a crash of a long-running broker."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGUSR1)
            deadline = time.monotonic() + 5
            db = self.workdir / "mosquitto.db"
            while not db.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.2)  # written as .new, then renamed

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def mosquitto_available() -> bool:
    return os.path.exists(MOSQUITTO)
