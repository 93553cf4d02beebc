"""A real Mosquitto for tests: started from a temp config on a free loopback port, killable.

``start_mosquitto`` returns once the broker's main loop has served a connection, not when its
port first accepts one. Mosquitto listens, then loads its TLS files, installs its signal
handlers, sends systemd's READY=1, and only then sets the flag its SIGTERM handler clears
(``run = 1``) and enters its loop. A SIGTERM before the handlers killed it without saving its
persistence file (a SIGHUP or SIGUSR1 there kills it too); one after them but before the loop
was lost, and the broker ran on. A test stopping a broker it had just started, on a busy
machine, hit the first; waiting for READY=1 or for the handlers hits the second.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import IO

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


def start_mosquitto(
    conf: Path, port: int, log: IO[bytes], timeout_s: float = 10.0, host: str = "127.0.0.1"
) -> subprocess.Popen[bytes]:
    """Run ``mosquitto -c conf`` (output to ``log``) and return once its main loop has closed a
    connection of ours: from then on SIGTERM makes it save and exit, SIGHUP reloads, SIGUSR1
    saves. The connection sends nothing (so needs no credentials, plain or TLS listener alike)
    and ends its side at once; the kernel queues it until Mosquitto's loop accepts it, reads the
    end and closes (a TLS listener logs it: "Client connection from 127.0.0.1 failed: ...
    unexpected eof"). A reset instead means the listener went away: Mosquitto is exiting."""
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=log, stderr=log)
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        if proc.poll() is not None:
            raise RuntimeError(f"mosquitto -c {conf} exited ({proc.returncode}) before serving")
        try:
            with socket.create_connection((host, port), timeout=left) as probe:
                probe.shutdown(socket.SHUT_WR)
                while probe.recv(4096):  # its end of the connection, after anything it sends
                    pass
        except (ConnectionRefusedError, ConnectionResetError):
            time.sleep(0.05)  # not listening yet, or no longer
            continue
        except TimeoutError:
            break
        if proc.poll() is None:
            return proc
    proc.kill()
    proc.wait(10)
    raise TimeoutError(f"mosquitto -c {conf} served no connection on {host}:{port} in {timeout_s}s")


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
        self.proc = start_mosquitto(self.conf, self.port, log)
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
