"""A simulated bedside monitor for the demo and tests: plausible SpO2, pulse, NIBP, temperature.

It produces the family's neutral readings directly; the protocol modules of
real monitors (HL7 PCD-01, Masimo, Nonin, Contec) bring their own byte-level
simulators.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from drivers.base import DeviceHealth, DeviceUnavailable, DriverManifest, Health, Identity, Setting
from drivers.vitals.base import NumericReading

# (MDC code, reference id, UCUM unit, mean, spread)
_PARAMETERS = (
    (150456, "MDC_PULS_OXIM_SAT_O2", "%", 97.0, 1.5),
    (149530, "MDC_PULS_OXIM_PULS_RATE", "/min", 74.0, 6.0),
    (150021, "MDC_PRESS_BLD_NONINV_SYS", "mm[Hg]", 118.0, 8.0),
    (150022, "MDC_PRESS_BLD_NONINV_DIA", "mm[Hg]", 76.0, 6.0),
    (150364, "MDC_TEMP_BODY", "Cel", 36.8, 0.3),
    (151562, "MDC_RESP_RATE", "/min", 16.0, 2.0),
)


class SimulatedMonitor:
    family = "vitals"
    MANIFEST = DriverManifest(
        name="sim.monitor",
        family="vitals",
        protocol="simulated (no device)",
        attach="none",
        title="Simulated vital-signs monitor",
        reports=(
            "vital_signs",
            "MDC_PULS_OXIM_SAT_O2",
            "MDC_PULS_OXIM_PULS_RATE",
            "MDC_PRESS_BLD_NONINV_SYS",
            "MDC_PRESS_BLD_NONINV_DIA",
            "MDC_TEMP_BODY",
            "MDC_RESP_RATE",
        ),
        settings=(
            Setting("serial", "str", "SIM-0001", en="serial number", es="número de serie"),
            Setting("seed", "int", en="random seed", es="semilla aleatoria"),
            Setting(
                "interval_s",
                "float",
                1.0,
                minimum=0.01,
                maximum=3600,
                en="seconds between readings",
                es="segundos entre lecturas",
            ),
        ),
        serial_setting="serial",
        simulator=True,
    )

    def __init__(
        self, serial: str = "SIM-0001", seed: int | None = None, interval_s: float = 1.0
    ) -> None:
        self._serial = serial
        self._rng = random.Random(seed)
        self._baseline = [self._rng.gauss(mean, spread / 3) for *_, mean, spread in _PARAMETERS]
        self._interval_s = interval_s
        self._next_at = 0.0  # monotonic time of the next set
        self._open = False
        self.unplugged = False  # flipped by tests and the demo to simulate a pulled cable

    def open(self) -> None:
        if self.unplugged:
            raise DeviceUnavailable("simulated monitor is unplugged / monitor desconectado")
        self._open = True

    def close(self) -> None:
        self._open = False

    def identify(self) -> Identity:
        return Identity(model="Puente simulated monitor", vendor="Puente", serial=self._serial)

    def health(self) -> DeviceHealth:
        if self.unplugged:
            return DeviceHealth(Health.DISCONNECTED, "unplugged", "cable pulled / cable retirado")
        return DeviceHealth(Health.CONNECTED)

    def numerics(self, timeout_s: float) -> Iterator[NumericReading]:
        """One set every ``interval_s``, paced across calls like a real monitor's clock: a
        caller reading in chunks shorter than the interval waits, it never gets a flood."""
        if not self._open:
            self.open()
        deadline = time.monotonic() + timeout_s
        while True:
            wait = self._next_at - time.monotonic()
            if wait > 0:
                if time.monotonic() + wait > deadline:
                    time.sleep(max(0.0, deadline - time.monotonic()))
                    return
                time.sleep(wait)
            now = datetime.now(UTC)
            for (code, refid, unit, _, spread), base in zip(
                _PARAMETERS, self._baseline, strict=True
            ):
                # A patient at rest: small beat-to-beat jitter around their own values.
                value = round(base + self._rng.gauss(0, spread / 10), 1)
                yield NumericReading(code, refid, value, unit, now)
            self._next_at = time.monotonic() + self._interval_s
            if self._next_at > deadline:
                return
