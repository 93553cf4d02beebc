"""Cutting a scanner's byte stream into scans: one symbol per line ending in CR, LF or CR LF.

Shared by the serial and the keyboard-wedge drivers: both receive a stream of
characters ended by the suffix the scanner is programmed with (CR by default
on most, CR LF on others).
"""

from __future__ import annotations

from datetime import UTC, datetime

from drivers.barcode.base import MAX_SCAN_CHARS, Scan, ScanTooLong, split_symbology


class LineFramer:
    def __init__(self, max_chars: int = MAX_SCAN_CHARS) -> None:
        self.max_chars = max_chars
        self._buf: list[str] = []
        self.overflows = 0

    def feed(self, text: str) -> list[Scan]:
        """Characters in, completed scans out. A runaway line is dropped and raises ScanTooLong."""
        out: list[Scan] = []
        for ch in text:
            if ch in "\r\n":
                if self._buf:
                    symbology, data = split_symbology("".join(self._buf))
                    self._buf.clear()
                    out.append(Scan(data, symbology, datetime.now(UTC)))
                continue
            self._buf.append(ch)
            if len(self._buf) > self.max_chars:
                self._buf.clear()
                self.overflows += 1
                raise ScanTooLong(
                    f"more than {self.max_chars} characters without CR/LF: program the scanner's "
                    f"suffix as CR or CR LF / más de {self.max_chars} caracteres sin CR/LF: "
                    "configure el sufijo del escáner como CR o CR LF"
                )
        return out

    def reset(self) -> None:
        self._buf.clear()
