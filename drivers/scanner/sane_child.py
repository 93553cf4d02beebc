"""One SANE scan in a child process that the agent can stop.

Why a process: SANE backends that read through ``sanei_thread`` (the ``test`` backend
among them) cancel their reader thread asynchronously at the end of every page
(``finish_pass``: ``sanei_thread_kill``, then ``waitpid``). Once in a while the cancel
lands while that thread holds the dynamic loader's TLS lock; the lock stays held, and the
next thread start or ``dlopen`` in the process waits forever, holding the GIL when it is
Python's (an import, ``ctypes``). An agent that scanned in its own process froze whole:
1 run in 6-10 of a ten-sheet e2e scan under load, once in CI (gdb: ``sane_test_start`` →
``pthread_create`` → ``_dl_allocate_tls_init`` waiting on ``_rtld_global``'s lock, no live
thread holding it). In a child, only the child freezes: the agent hears of no page for
``page_timeout_s``, kills it and fails the scan with words that say so, and the next scan
starts a fresh child. The child is a fresh interpreter (``python -m
drivers.scanner.sane_child``), not a ``fork`` of the multi-threaded agent (which could
copy a held lock into it) nor multiprocessing's ``spawn`` (which re-imports the
agent's ``__main__`` in the child: a second of imports per scan, and a script without
a ``__main__`` guard would run again). It imports only SANE, PIL and this driver.

The wire, two one-way pipes (no thread reads and writes one connection at once), each a
``multiprocessing.connection.Connection`` over a file descriptor the child inherits:
agent → child first the job ``(device, config dir, extra options, settings)``;
child → agent ``("page", number, dpi, mode, image mode, (width, height), pixels)`` per
page, then ``("end",)`` or ``("error", class name, reason, code, pages done)``;
agent → child ``("cancel",)`` (the child calls ``sane_cancel``). No image leaves the
station: the pipes run between the agent and its own child.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from drivers.scanner import base as scanner_base
from drivers.scanner.base import ScanCancelled, ScanError, ScannedPage, ScannerIOError, ScanSettings

CANCEL_GRACE_S = 10.0  # after a cancel, how long the child may take to stop by itself
_POLL_S = 0.2


def _error_of(name: str, reason: str, code: str, pages_done: int) -> ScanError:
    cls = getattr(scanner_base, name, None)
    if not (isinstance(cls, type) and issubclass(cls, ScanError)):
        cls = ScanError
    return cls(reason, code=code, pages_done=pages_done)


def _child(pages: Connection, control: Connection) -> None:
    """The child's whole life: one scan (the job read first), its pages sent as they come."""
    from drivers.scanner.sane_backend import SaneScanner

    device, config_dir, extra_options, settings = control.recv()
    scanner = SaneScanner(device, config_dir, extra_options)

    def follow_control() -> None:
        try:
            while control.recv() != ("cancel",):
                pass
        except (EOFError, OSError):
            pass  # the agent went away: stop too
        scanner.cancel()

    threading.Thread(target=follow_control, name="scan-control", daemon=True).start()
    try:
        for page in scanner.scan_here(settings):
            image: Any = page.image
            pages.send(
                (
                    "page",
                    page.number,
                    page.resolution_dpi,
                    page.mode,
                    image.mode,
                    image.size,
                    image.tobytes(),
                )
            )
        pages.send(("end",))
    except ScanError as exc:
        pages.send(("error", type(exc).__name__, exc.reason, exc.code, exc.pages_done))
    except Exception as exc:  # a bug or a backend's surprise: said, not lost
        pages.send(
            (
                "error",
                "ScanError",
                f"the scan failed ({type(exc).__name__}: {exc}) / el escaneo falló",
                "scan_failed",
                0,
            )
        )


class ScanChild:
    """A running child scan: iterate :meth:`pages`; :meth:`cancel` asks it to stop."""

    def __init__(
        self,
        device: str,
        config_dir: str | None,
        extra_options: dict[str, Any],
        settings: ScanSettings,
    ) -> None:
        job_read, job_write = os.pipe()
        pages_read, pages_write = os.pipe()
        root = str(Path(__file__).resolve().parents[2])  # where the drivers package is
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "drivers.scanner.sane_child",
                    str(job_read),
                    str(pages_write),
                ],
                pass_fds=(job_read, pages_write),
                stdin=subprocess.DEVNULL,
                env=env,
            )
        finally:
            os.close(job_read)
            os.close(pages_write)
        self._pages = Connection(pages_read, writable=False)
        self._control = Connection(job_write, readable=False)
        self._control.send((device, config_dir, dict(extra_options), settings))
        self._cancelled_at: float | None = None

    def cancel(self) -> None:
        if self._cancelled_at is None:
            self._cancelled_at = time.monotonic()
            with contextlib.suppress(OSError, ValueError):  # already gone
                self._control.send(("cancel",))

    def pages(self, page_timeout_s: float) -> Iterator[ScannedPage]:
        """Each page as it comes; raises the child's error, or ScannerIOError when no page
        came for ``page_timeout_s`` (the child is then killed)."""
        from PIL import Image

        done = 0
        last = time.monotonic()
        while True:
            if not self._pages.poll(_POLL_S):
                now = time.monotonic()
                if self._cancelled_at is not None and now - self._cancelled_at > CANCEL_GRACE_S:
                    self.stop()
                    raise ScanCancelled(pages_done=done)
                if now - last > page_timeout_s:
                    self.stop()
                    raise ScannerIOError(
                        f"the scanner sent nothing for {page_timeout_s:g} s; the scan was "
                        f"stopped after {done} page(s) / el escáner no envió nada en "
                        f"{page_timeout_s:g} s; se detuvo el escaneo tras {done} página(s)",
                        pages_done=done,
                    )
                if self.process.poll() is not None and not self._pages.poll(0):
                    raise ScanError(
                        f"the scanning process ended unexpectedly (exit code "
                        f"{self.process.returncode}) / el proceso de escaneo terminó de forma "
                        "inesperada",
                        pages_done=done,
                    )
                continue
            try:
                message = self._pages.recv()
            except EOFError:  # the child's end closed without "end" or "error": it died
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(2.0)
                raise ScanError(
                    f"the scanning process ended unexpectedly (exit code "
                    f"{self.process.returncode}) / el proceso de escaneo terminó de forma "
                    "inesperada",
                    pages_done=done,
                ) from None
            last = time.monotonic()
            kind = message[0]
            if kind == "end":
                return
            if kind == "error":
                raise _error_of(*message[1:])
            _, number, dpi, mode, image_mode, size, pixels = message
            done = number
            image = Image.frombytes(image_mode, size, pixels)
            yield ScannedPage(number=number, resolution_dpi=dpi, mode=mode, image=image,
                              width_px=size[0], height_px=size[1])  # fmt: skip

    def stop(self) -> None:
        """The child gone, by itself or killed; its pipes closed."""
        process = self.process
        try:
            process.wait(2.0 if self._cancelled_at is None else 0.5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5.0)
        self._pages.close()
        self._control.close()


def main() -> None:
    """``python -m drivers.scanner.sane_child JOB_FD PAGES_FD``: the agent starts it."""
    job_fd, pages_fd = int(sys.argv[1]), int(sys.argv[2])
    _child(Connection(pages_fd, readable=False), Connection(job_fd, writable=False))


if __name__ == "__main__":
    main()
