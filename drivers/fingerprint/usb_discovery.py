"""USB discovery of fingerprint readers (pyusb): which known reader is plugged in, and its state.

``KNOWN_READERS`` maps USB vendor:product ids to models and says whether a
driver here supports the model (through libfprint). ``UsbReaderPort`` is a
device whose health follows the USB bus, so the agent's device manager turns
plug and unplug into ``DeviceStatus`` events (CONNECTED / DISCONNECTED, and
UNSUPPORTED for a reader no installed driver can drive).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from drivers.base import DeviceHealth, DriverManifest, Health, Identity, Setting
from drivers.fingerprint.base import ReaderUnavailable


@dataclass(frozen=True)
class KnownReader:
    vendor: str
    model: str
    driver: str  # "libfprint:<driver>" when supported, "" when not


# Sources: libfprint's supported-device list, vendors' USB descriptors.
KNOWN_READERS: dict[tuple[int, int], KnownReader] = {
    (0x05BA, 0x0007): KnownReader("DigitalPersona", "U.are.U 4000", "libfprint:uru4000"),
    (0x05BA, 0x0008): KnownReader("DigitalPersona", "U.are.U 4000 (keyboard)", "libfprint:uru4000"),
    (0x05BA, 0x000A): KnownReader("DigitalPersona", "U.are.U 4000B/4500", "libfprint:uru4000"),
    (0x045E, 0x00BC): KnownReader("Microsoft", "Fingerprint Reader (U.are.U)", "libfprint:uru4000"),
    (0x1162, 0x2200): KnownReader("SecuGen", "Hamster Pro 20", ""),
    (0x1162, 0x2201): KnownReader("SecuGen", "Hamster Pro 20 (alt.)", ""),
    (0x1162, 0x0320): KnownReader("SecuGen", "Hamster Plus", ""),
    (0x1491, 0x0020): KnownReader("Futronic", "FS88", ""),
    (0x1491, 0x0025): KnownReader("Futronic", "FS80H", ""),
    (0x1B55, 0x0120): KnownReader("ZKTeco", "ZK9500", ""),
    (0x1B55, 0x0840): KnownReader("ZKTeco", "ZK4500", ""),
    (0x16D1, 0x0406): KnownReader("Suprema", "BioMini Plus 2", ""),
    (0x16D1, 0x0407): KnownReader("Suprema", "BioMini Slim", ""),
    (0x16D1, 0x0409): KnownReader("Suprema", "BioMini Slim 2", ""),
    (0x08FF, 0x2580): KnownReader("AuthenTec", "AES2501", "libfprint:aes2501"),
    (0x147E, 0x2016): KnownReader("Upek", "TouchChip/Eikon", "libfprint:upektc"),
}


@dataclass(frozen=True)
class FoundReader:
    usb_id: str  # "vvvv:pppp"
    vendor: str
    model: str
    driver: str
    bus: int
    address: int

    @property
    def supported(self) -> bool:
        return bool(self.driver)


# (vendor_id, product_id, bus, address) of every device on the bus
UsbLister = Callable[[], Iterable[tuple[int, int, int, int]]]


def pyusb_devices() -> list[tuple[int, int, int, int]]:
    """Every USB device pyusb (libusb) sees."""
    try:
        import usb.core

        devices = usb.core.find(find_all=True) or []
        return [(d.idVendor, d.idProduct, d.bus or 0, d.address or 0) for d in devices]
    except Exception as exc:  # NoBackendError, permissions
        raise ReaderUnavailable(
            f"USB bus cannot be read: {exc} / no se puede leer el bus USB"
        ) from exc


def scan(lister: UsbLister = pyusb_devices) -> list[FoundReader]:
    """Known fingerprint readers on the bus, in bus order."""
    found = []
    for vid, pid, bus, address in lister():
        known = KNOWN_READERS.get((vid, pid))
        if known is not None:
            found.append(
                FoundReader(
                    f"{vid:04x}:{pid:04x}", known.vendor, known.model, known.driver, bus, address
                )
            )
    return found


class UsbReaderPort:
    """A device whose state follows the USB bus: a known fingerprint reader plugged in or not.

    ``usb_id`` narrows to one model ("05ba:000a"); empty accepts any known reader.
    """

    family = "fingerprint"
    MANIFEST = DriverManifest(
        name="usb.fingerprint",
        family="fingerprint",
        protocol="USB presence of a known fingerprint reader (by USB id)",
        attach="usb",
        title="Fingerprint reader on USB (presence only)",
        reports=("device_status",),
        settings=(
            Setting(
                "usb_id",
                "str",
                "",
                pattern=r"^([0-9a-fA-F]{4}:[0-9a-fA-F]{4})?$",
                en="USB vendor:product id, e.g. 05ba:000a (empty: any known reader)",
                es="id USB fabricante:producto, p. ej. 05ba:000a (vacío: cualquiera conocido)",
            ),
        ),
    )

    def __init__(self, usb_id: str = "", lister: UsbLister = pyusb_devices) -> None:
        self.usb_id = usb_id.lower()
        self._lister = lister
        self._last: FoundReader | None = None

    def _find(self) -> FoundReader | None:
        for reader in scan(self._lister):
            if not self.usb_id or reader.usb_id == self.usb_id:
                return reader
        return None

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def identify(self) -> Identity:
        reader = self._find() or self._last
        if reader is None:
            return Identity(model="(no reader plugged in)", usb_id=self.usb_id)
        return Identity(model=reader.model, vendor=reader.vendor, usb_id=reader.usb_id)

    def health(self) -> DeviceHealth:
        try:
            reader = self._find()
        except ReaderUnavailable as exc:
            return DeviceHealth(Health.ERROR, exc.code, exc.reason)
        if reader is None:
            return DeviceHealth(
                Health.DISCONNECTED,
                "unplugged",
                "no fingerprint reader on USB / lector desconectado",
            )
        self._last = reader
        if not reader.supported:
            return DeviceHealth(
                Health.UNSUPPORTED,
                "no_driver",
                f"{reader.vendor} {reader.model} ({reader.usb_id}) has no driver here / "
                "sin driver para este lector",
            )
        return DeviceHealth(
            Health.CONNECTED, "", f"{reader.vendor} {reader.model} ({reader.usb_id})"
        )
