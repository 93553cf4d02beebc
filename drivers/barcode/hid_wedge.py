"""USB HID keyboard-wedge scanners through evdev: key presses back into the symbol's characters.

A wedge scanner is a keyboard to the computer. The driver opens its
``/dev/input/event*`` node and grabs it exclusively (EVIOCGRAB) so a scan
never types into the focused window, then turns key events back into text
with a US layout (the factory default of wedge scanners; program the scanner
to "US keyboard"). FNC1 arrives as the scanner sends it: Ctrl+] (the ASCII
control for GS), or Alt + 0 2 9 on the numeric keypad; Enter ends a symbol.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import select
import time
from collections.abc import Iterator
from typing import Any

from drivers.barcode.base import GS, ReaderVanished, Scan
from drivers.barcode.framing import LineFramer
from drivers.base import DeviceHealth, DeviceUnavailable, DriverManifest, Health, Identity, Setting

log = logging.getLogger(__name__)

EV_KEY = 0x01
KEY_DOWN = 1

# evdev key names (US layout) -> (plain, shifted)
_US = {
    **{f"KEY_{d}": (d, s) for d, s in zip("1234567890", "!@#$%^&*()", strict=True)},
    **{f"KEY_{c}": (c.lower(), c) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
    "KEY_MINUS": ("-", "_"),
    "KEY_EQUAL": ("=", "+"),
    "KEY_LEFTBRACE": ("[", "{"),
    "KEY_RIGHTBRACE": ("]", "}"),
    "KEY_SEMICOLON": (";", ":"),
    "KEY_APOSTROPHE": ("'", '"'),
    "KEY_GRAVE": ("`", "~"),
    "KEY_BACKSLASH": ("\\", "|"),
    "KEY_COMMA": (",", "<"),
    "KEY_DOT": (".", ">"),
    "KEY_SLASH": ("/", "?"),
    "KEY_SPACE": (" ", " "),
    "KEY_TAB": ("\t", "\t"),
    "KEY_ENTER": ("\r", "\r"),
    "KEY_KPENTER": ("\r", "\r"),
    **{f"KEY_KP{d}": (d, d) for d in "0123456789"},
    "KEY_KPMINUS": ("-", "-"),
    "KEY_KPPLUS": ("+", "+"),
    "KEY_KPDOT": (".", "."),
    "KEY_KPSLASH": ("/", "/"),
    "KEY_KPASTERISK": ("*", "*"),
}
_SHIFT = {"KEY_LEFTSHIFT", "KEY_RIGHTSHIFT"}
_CTRL = {"KEY_LEFTCTRL", "KEY_RIGHTCTRL"}
_ALT = {"KEY_LEFTALT", "KEY_RIGHTALT"}


def _names() -> dict[int, str]:
    from evdev import ecodes

    out: dict[int, str] = {}
    for code, name in ecodes.KEY.items():
        out[code] = name if isinstance(name, str) else name[0]  # aliases: a tuple (evdev 2)
    return out


class KeyDecoder:
    """Key events (type, code, value) in, characters out; modifiers tracked across events."""

    def __init__(self) -> None:
        self.names = _names()
        self.held: set[str] = set()
        self.alt_digits = ""

    def feed(self, type_: int, code: int, value: int) -> str:
        if type_ != EV_KEY:
            return ""
        name = self.names.get(code, "")
        if name in _SHIFT | _CTRL | _ALT:
            if value:
                self.held.add(name)
            else:
                self.held.discard(name)
                if name in _ALT and self.alt_digits:  # Alt released: Alt+numpad code complete
                    digits, self.alt_digits = self.alt_digits, ""
                    n = int(digits)
                    return chr(n) if 0 < n < 256 else ""
            return ""
        if value != KEY_DOWN:  # releases and autorepeat carry no character
            return ""
        if self.held & _ALT and name.startswith("KEY_KP") and name[-1].isdigit():
            self.alt_digits += name[-1]
            return ""
        if self.held & _CTRL:
            return GS if name == "KEY_RIGHTBRACE" else ""
        pair = _US.get(name)
        if pair is None:
            return ""
        return pair[1] if self.held & _SHIFT else pair[0]


class HidWedgeScanner:
    """A keyboard-wedge scanner at ``path`` (/dev/input/by-id/...-event-kbd) or named ``name``."""

    family = "barcode"
    MANIFEST = DriverManifest(
        name="barcode.hid",
        family="barcode",
        protocol="USB HID keyboard-wedge scanner (evdev, exclusive grab)",
        attach="usb",
        title="Keyboard-wedge barcode scanner (USB HID)",
        reports=("dispensing",),
        settings=(
            Setting(
                "path",
                "str",
                "",
                pattern=r"^(/[^\s]+)?$",
                en="input device, e.g. /dev/input/by-id/...-event-kbd (or give name)",
                es="dispositivo de entrada, p. ej. /dev/input/by-id/...-event-kbd (o el nombre)",
            ),
            Setting(
                "name",
                "str",
                "",
                en="input device name as the kernel reports it (or give path)",
                es="nombre del dispositivo de entrada según el kernel (o la ruta)",
            ),
            Setting(
                "grab",
                "bool",
                True,
                en="grab the device so scans do not type into windows",
                es="tomar el dispositivo para que no escriba en las ventanas",
            ),
        ),
    )

    def __init__(self, path: str = "", name: str = "", grab: bool = True) -> None:
        if not (path or name):
            raise ValueError("give the scanner's input device path or its name")
        self.path = path
        self.name = name
        self.grab = grab
        self._dev: Any = None
        self._vanished = False
        self.decoder = KeyDecoder()
        self.framer = LineFramer()

    def _find(self) -> str:
        if self.path:
            return self.path
        import evdev

        for p in evdev.list_devices():
            with contextlib.suppress(OSError):
                dev = evdev.InputDevice(p)
                found = dev.name == self.name
                dev.close()
                if found:
                    return p
        raise DeviceUnavailable(
            f"no input device named {self.name!r} / no hay un dispositivo de entrada "
            f"llamado {self.name!r}",
            code="reader_vanished" if self._vanished else "device_not_found",
        )

    def open(self) -> None:
        if self._dev is not None:
            return
        import evdev

        path = self._find()
        try:
            dev = evdev.InputDevice(path)
            if self.grab:
                dev.grab()  # exclusive: the scan does not type into the focused window
        except OSError as exc:
            raise DeviceUnavailable(
                f"input device {path} cannot be opened or grabbed ({exc}) / no se puede abrir "
                f"o tomar en exclusiva el dispositivo de entrada {path}",
                code="device_busy" if exc.errno == errno.EBUSY else "port_unavailable",
            ) from exc
        self._dev = dev
        self._vanished = False
        self.decoder = KeyDecoder()
        self.framer.reset()

    def close(self) -> None:
        dev, self._dev = self._dev, None
        if dev is not None:
            with contextlib.suppress(OSError):
                if self.grab:
                    dev.ungrab()
            with contextlib.suppress(OSError):
                dev.close()

    def identify(self) -> Identity:
        dev = self._dev
        if dev is None:
            return Identity(model=self.name or "keyboard-wedge barcode scanner")
        info = dev.info
        return Identity(
            model=dev.name,
            serial=dev.uniq or "",
            usb_id=f"{info.vendor:04x}:{info.product:04x}",
        )

    def health(self) -> DeviceHealth:
        if self._dev is None:
            try:
                self.open()
            except DeviceUnavailable as exc:
                return DeviceHealth(Health.DISCONNECTED, exc.code, exc.reason)
        return DeviceHealth(Health.CONNECTED)

    def scans(self, timeout_s: float) -> Iterator[Scan]:
        self.open()
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            dev = self._dev
            if dev is None:
                return
            try:
                ready, _, _ = select.select([dev.fd], [], [], min(left, 0.1))
                if not ready:
                    continue
                events = list(dev.read())
            except BlockingIOError:
                continue
            except OSError as exc:
                self._lost(exc)
            text = "".join(self.decoder.feed(e.type, e.code, e.value) for e in events)
            if text:
                yield from self.framer.feed(text)

    def _lost(self, exc: Exception) -> None:
        self._dev = None
        self._vanished = True
        log.warning("keyboard-wedge scanner %s vanished: %s", self.path or self.name, exc)
        raise ReaderVanished(
            f"barcode scanner {self.path or self.name} vanished (unplugged?) / "
            f"el lector de códigos {self.path or self.name} desapareció (¿desconectado?)"
        ) from exc


def keystrokes(text: str) -> list[tuple[str, int]]:
    """(evdev key name, value) presses a US-layout wedge scanner sends for ``text``."""
    reverse: dict[str, tuple[str, bool]] = {}
    for name, (plain, shifted) in _US.items():
        if name.startswith("KEY_KP"):
            continue
        reverse.setdefault(plain, (name, False))
        reverse.setdefault(shifted, (name, True))
    out: list[tuple[str, int]] = []
    for ch in text:
        if ch == GS:
            out += [("KEY_LEFTCTRL", 1), ("KEY_RIGHTBRACE", 1), ("KEY_RIGHTBRACE", 0)]
            out += [("KEY_LEFTCTRL", 0)]
            continue
        if ch == "\n":
            continue
        name, shift = reverse[ch]
        if shift:
            out.append(("KEY_LEFTSHIFT", 1))
        out += [(name, 1), (name, 0)]
        if shift:
            out.append(("KEY_LEFTSHIFT", 0))
    return out
