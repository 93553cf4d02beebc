"""A pseudo-terminal standing in for a serial monitor: the simulators write real protocol bytes.

The pty is opened in raw mode before anything is written; ``link`` is a
stable path (like /dev/serial/by-id/...) re-pointed at each new pty, so
``unplug()``/``replug()`` behave like pulling and re-plugging a USB-serial
cable: reads on the old port fail with EIO, the stable path disappears, then
comes back on a fresh pty.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import tty
from collections.abc import Callable, Iterator
from pathlib import Path


class PtyPort:
    def __init__(self, link: Path) -> None:
        self.link = link
        self.master = -1
        self.slave = -1
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.received = bytearray()  # what the driver wrote back (ACKs)
        self.plug()

    def plug(self) -> None:
        with self._lock:
            self.master, self.slave = os.openpty()
            tty.setraw(self.master)
            tty.setraw(self.slave)
            tmp = self.link.with_suffix(".tmp")
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            os.symlink(os.ttyname(self.slave), tmp)
            os.replace(tmp, self.link)
        self._drainer = threading.Thread(target=self._drain, args=(self.master,), daemon=True)
        self._drainer.start()

    replug = plug

    def unplug(self) -> None:
        """Pull the cable: the port's path goes away and its reads fail."""
        with self._lock:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
            master, slave = self.master, self.slave
            self.master = self.slave = -1
        # The drainer must leave its read first: a blocked read keeps the master alive.
        self._drainer.join(5)
        for fd in (slave, master):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def write(self, data: bytes) -> None:
        with self._lock:
            if self.master >= 0:
                os.write(self.master, data)

    def _drain(self, fd: int) -> None:
        while self.master == fd:
            try:
                ready, _, _ = select.select([fd], [], [], 0.05)
                if not ready:
                    continue
                data = os.read(fd, 4096)
            except OSError:
                return
            if not data:
                return
            self.received.extend(data)

    def play(self, frames: Iterator[bytes], interval_s: float) -> None:
        """Write ``frames`` one per ``interval_s`` in the background until stop()."""

        def run() -> None:
            for frame in frames:
                if self._stop.wait(interval_s):
                    return
                with contextlib.suppress(OSError):
                    self.write(frame)

        self._thread = threading.Thread(target=run, name="pty-sim", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.unplug()


def repeat(make: Callable[[int], bytes]) -> Iterator[bytes]:
    i = 0
    while True:
        yield make(i)
        i += 1
