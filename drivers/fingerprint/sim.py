"""A simulated reader for the demo: serves synthetic impressions through the reader interface.

``finger`` picks the synthetic finger presented; ``set_finger()`` changes who
touches the reader (another patient for a no-match), ``poor_next()`` makes the
next touch a smudge (quality rejection). The synthesis (numpy, scipy) is imported
with the first touch, not when the reader is loaded.
"""

from __future__ import annotations

import threading

from drivers.base import DeviceHealth, DriverManifest, Health, Identity, Setting
from drivers.fingerprint.base import CaptureCancelled, FingerImage


class SimulatedReader:
    family = "fingerprint"
    MANIFEST = DriverManifest(
        name="sim.fingerprint",
        family="fingerprint",
        protocol="simulated (synthetic fingerprints)",
        attach="none",
        title="Simulated fingerprint reader",
        reports=("biometric_enrollment", "biometric_confirmation"),
        settings=(
            Setting("serial", "str", "SIM-FP-0001", en="serial number", es="número de serie"),
            Setting("seed", "int", 7, en="random seed", es="semilla aleatoria"),
            Setting(
                "finger", "int", 0, minimum=0, maximum=9, en="finger index", es="índice del dedo"
            ),
        ),
        serial_setting="serial",
        simulator=True,
    )

    def __init__(self, serial: str = "SIM-FP-0001", seed: int = 7, finger: int = 0) -> None:
        self.serial = serial
        self.seed = seed
        self.finger = finger
        self._touches = 0
        self._poor = False
        self._cancel = threading.Event()
        self._lock = threading.Lock()

    def open(self) -> None:
        return None

    def close(self) -> None:
        self.cancel()

    def identify(self) -> Identity:
        return Identity(model="Simulated fingerprint reader", vendor="Puente", serial=self.serial)

    def health(self) -> DeviceHealth:
        return DeviceHealth(Health.CONNECTED)

    def set_finger(self, finger: int) -> None:
        with self._lock:
            self.finger = finger

    def poor_next(self) -> None:
        with self._lock:
            self._poor = True

    def capture(self, timeout_s: float) -> FingerImage:
        from drivers.fingerprint import synthetic

        self._cancel.clear()
        with self._lock:
            finger, k, poor = self.finger, self._touches, self._poor
            self._touches += 1
            self._poor = False
        pixels = synthetic.impression(self.seed, finger, k, quality="poor" if poor else "good")
        if self._cancel.is_set():
            raise CaptureCancelled("capture cancelled / captura cancelada")
        return FingerImage(synthetic.WIDTH, synthetic.HEIGHT, pixels.tobytes(), 500)

    def cancel(self) -> None:
        self._cancel.set()
