"""bench/mosquitto_ready: what a SIGTERM right after each "Mosquitto is up" signal does.

The config is the one `puente hub broker-config` writes (TLS listener, persistence on), as in
tests/provisioning/test_broker_settings.py. Each round starts Mosquitto four times, one per
signal, interleaved, and sends SIGTERM as soon as the signal is seen:

- port: the port accepts a TCP connection (what the tests waited for until 2026-12-01);
- handlers: the port accepts and /proc/<pid>/status shows a SIGTERM handler (SigCgt);
- ready: Mosquitto sent systemd's READY=1 to $NOTIFY_SOCKET;
- served: its main loop closed a connection of ours (``tests.brokers.start_mosquitto``).

Outcomes: ok (exit 0, mosquitto.db written), killed (died of the signal, no mosquitto.db:
the CI flake) or lost (the signal was ignored: still running 2 s later, then SIGKILLed).
``--burners`` busy-loop processes stand in for the other pytest worker on CI's 2 cores.

Run: ``python -m bench.mosquitto_ready [--rounds 200] [--burners 2] [--signals port,served]``
(a lost round takes 2 s: "ready" loses most, give it few rounds).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

from tests.brokers import MOSQUITTO, free_port, start_mosquitto, wait_port

SIGNALS = ("port", "handlers", "ready", "served")


def _burn() -> None:
    while True:
        pass


def _generate(workdir: Path, port: int) -> Path:
    (workdir / "persist").mkdir()
    (workdir / "hub.toml").write_text(f'data_dir = "{workdir / "hub"}"\n')
    argv = ["hub", "broker-config", "--out", str(workdir / "broker"), "--port", str(port)]
    argv += ["--bind", "127.0.0.1", "--persistence-dir", str(workdir / "persist")]
    argv += ["--config", str(workdir / "hub.toml")]
    argv += ["--run-as", "root"] if os.geteuid() == 0 else []
    cli = [sys.executable, "-m", "puente_cli.main", *argv]
    subprocess.run(cli, check=True, capture_output=True, timeout=60)
    return workdir / "broker" / "mosquitto.conf"


def _sigterm_caught(pid: int) -> bool:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    return False


def _start(how: str, conf: Path, port: int) -> subprocess.Popen[bytes]:
    null = subprocess.DEVNULL
    if how == "served":
        with open(os.devnull, "wb") as log:
            return start_mosquitto(conf, port, log)
    if how == "ready":
        name = f"puente-bench-{uuid.uuid4().hex}"
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
            notify.bind("\0" + name)
            notify.settimeout(10)
            env = {**os.environ, "NOTIFY_SOCKET": "@" + name}
            proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=null, stderr=null, env=env)
            while b"READY=1" not in notify.recv(4096).split(b"\n"):
                pass
            return proc
    proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=null, stderr=null)
    wait_port(port)
    if how == "handlers":
        while not _sigterm_caught(proc.pid):
            time.sleep(0.001)
    return proc


def _round(how: str, conf: Path, port: int, db: Path) -> str:
    db.unlink(missing_ok=True)
    proc = _start(how, conf, port)
    proc.terminate()
    try:
        code = proc.wait(2)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        return "lost"
    return "ok" if code == 0 and db.exists() else "killed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--burners", type=int, default=2)
    parser.add_argument("--signals", default=",".join(SIGNALS))
    args = parser.parse_args()
    signals = [how for how in args.signals.split(",") if how]
    assert set(signals) <= set(SIGNALS), signals
    burners = [mp.Process(target=_burn, daemon=True) for _ in range(args.burners)]
    for b in burners:
        b.start()
    outcomes = {how: Counter[str]() for how in signals}
    try:
        with tempfile.TemporaryDirectory(prefix="mosquitto-ready-") as tmp:
            port = free_port()
            conf = _generate(Path(tmp), port)
            db = Path(tmp) / "persist" / "mosquitto.db"
            load_before = os.getloadavg()[0]
            for _ in range(args.rounds):
                for how in signals:
                    outcomes[how][_round(how, conf, port, db)] += 1
    finally:
        for b in burners:
            b.terminate()
    print(
        f"{args.rounds} rounds, {args.burners} burners, load 1 min {load_before:.2f} -> "
        f"{os.getloadavg()[0]:.2f}"
    )
    for how in signals:
        c = outcomes[how]
        print(
            f"  {how:9} ok {c['ok']:4}  killed (no mosquitto.db) {c['killed']:4}  "
            f"lost (ran on) {c['lost']:4}"
        )


if __name__ == "__main__":
    main()
