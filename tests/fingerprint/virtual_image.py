"""Feeds images to libfprint's ``virtual_image`` driver over its unix socket, from a thread."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


class VirtualImageFeeder:
    """Sends each queued image (width, height as two 32-bit ints, then 8-bit pixels) once
    libfprint listens on ``path``; capture calls block until an image arrives."""

    def __init__(self, path: Path, capturing: Callable[[], bool] = lambda: True) -> None:
        self.path = path
        self.capturing = capturing
        self._queue: list[np.ndarray] = []
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True, name="fp-virtual-feed")
        self.sent = 0

    def start(self) -> VirtualImageFeeder:
        self._thread.start()
        return self

    def put(self, image: np.ndarray) -> None:
        with self._cond:
            self._queue.append(np.ascontiguousarray(image, dtype=np.uint8))
            self._cond.notify()

    def _run(self) -> None:
        sock: socket.socket | None = None
        while not self._stop:
            with self._cond:
                while not self._queue and not self._stop:
                    self._cond.wait(0.1)
                if self._stop:
                    break
                image = self._queue.pop(0)
            h, w = image.shape
            while not self.capturing() and not self._stop:  # an image sent early is dropped
                time.sleep(0.02)
            for _ in range(200):
                try:
                    if sock is None:
                        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                        sock.connect(str(self.path))
                    time.sleep(0.1)  # the driver must be waiting for a finger
                    sock.sendall(struct.pack("ii", w, h) + image.tobytes())
                    self.sent += 1
                    deadline = time.monotonic() + 10
                    while self.capturing() and time.monotonic() < deadline:
                        time.sleep(0.02)
                    break
                except OSError:
                    if sock is not None:
                        sock.close()
                    sock = None
                    time.sleep(0.05)
        if sock is not None:
            sock.close()

    def stop(self) -> None:
        self._stop = True
        with self._cond:
            self._cond.notify()
        self._thread.join(5)
