"""A second, independent synthetic-fingerprint generator: the phase (AM-FM) model.

Why a second generator: a threshold tuned on one generator's prints can look
much better than it is (the product owner saw a 4× worse FMR on another set),
so the calibration is checked on prints made by a genuinely different method.
No installable package ships or produces synthetic fingerprint populations
(PyPI: ``afis.algorithms.synth`` draws one fixed ridge pattern per size, not a
population of fingers; ``pyfing`` has no generator), so this module
hand-writes a published method that shares nothing with ``synthetic.py``:

- **Ridges** (Larkin & Fletcher, "A coherent framework for fingerprint
  analysis: are fingerprints holograms?", Opt. Express 15(14), 2007): a print
  is ``cos(ψ)`` with ``ψ = ψ_c + ψ_s``. ``ψ_c`` is a smooth phase (here a
  distance function to a pattern skeleton — a ray for a loop, a point or short
  segment for a whorl, a bent line for an arch — under a random low-frequency
  warp); ``ψ_s`` is a sum of spiral phases ``±atan2`` placed at random points:
  each one *is* a minutia (ending or bifurcation). ``synthetic.py`` instead
  grows ridges from random seeds by Gabor filtering along a Sherlock–Watt
  orientation field, where minutiae emerge from the growth.
- **Touch** (Cappelli, Maio & Maltoni, "Modelling plastic distortion in
  fingerprint images", ICAPR 2001): an undistorted close-contact region, a
  transition band where an extra displacement grows smoothly, and an outer
  region moved rigidly; evaluated analytically (the phase is computed at the
  displaced coordinates, no image resampling). ``synthetic.py`` uses a
  smoothed random displacement field and resamples the master image.
- **Skin and sensor**: dry skin breaks ridges (a thresholded noise mask), wet
  skin merges them (grey dilation); a superellipse contact with a ragged edge;
  uneven illumination, intensity-dependent (shot) noise and dust specks; a
  288×384 window. ``synthetic.py`` uses a sigmoid pressure offset, an ellipse,
  Gaussian blur and additive Gaussian noise on a 320×400 window.

Deterministic from (seed, finger, k). Used by the bench and tests only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import ndimage

WIDTH = 288
HEIGHT = 384  # 14.6 x 19.5 mm at 500 ppi: a smaller reader window than synthetic.py's
RESOLUTION_PPI = 500


@dataclass(frozen=True)
class PhaseMaster:
    """One finger as parameters of its phase: pattern skeleton, warp, period and minutiae."""

    pattern: str  # "loop", "whorl", "arch"
    core: tuple[float, float]
    direction: float  # loop: the ray's direction; whorl: the segment's
    length: float  # whorl segment length (0 = concentric); arch: bulge height
    period: float  # ridge period in pixels
    warp: np.ndarray  # rows of (amp_x, amp_y, kx, ky, phase)
    spirals: np.ndarray  # rows of (x, y, ±1): the minutiae


def master(seed: int, finger: int) -> PhaseMaster:
    rng = np.random.default_rng([seed, finger, 0xF4A5E])
    pattern = str(rng.choice(["loop", "whorl", "arch"], p=[0.6, 0.3, 0.1]))
    core = (WIDTH * rng.uniform(0.35, 0.65), HEIGHT * rng.uniform(0.3, 0.5))
    if pattern == "loop":  # the ray leaves the core downwards, leaning left or right
        direction = np.pi / 2 + rng.choice([-1, 1]) * rng.uniform(0.35, 0.8)
        length = 0.0
    elif pattern == "whorl":
        direction, length = rng.uniform(0, np.pi), rng.uniform(0, 40)
    else:
        direction, length = 0.0, rng.uniform(25, 70)
    period = float(rng.uniform(8.0, 11.0))
    n_warp = 4
    warp = np.column_stack(
        [
            rng.uniform(-10, 10, n_warp),
            rng.uniform(-10, 10, n_warp),
            rng.uniform(-1, 1, n_warp) * 2 * np.pi / 260,
            rng.uniform(-1, 1, n_warp) * 2 * np.pi / 260,
            rng.uniform(0, 2 * np.pi, n_warp),
        ]
    )
    # minutiae: spiral points spread over the finger, at least 14 px apart
    want = int(rng.integers(28, 56))
    points: list[tuple[float, float, float]] = []
    cx, cy = WIDTH / 2, HEIGHT / 2
    for _ in range(want * 30):
        if len(points) == want:
            break
        x, y = rng.uniform(-0.55, 0.55) * WIDTH + cx, rng.uniform(-0.55, 0.55) * HEIGHT + cy
        if ((x - cx) / (0.55 * WIDTH)) ** 2 + ((y - cy) / (0.55 * HEIGHT)) ** 2 > 1:
            continue
        if all((x - px) ** 2 + (y - py) ** 2 >= 14**2 for px, py, _ in points):
            points.append((x, y, float(rng.choice([-1.0, 1.0]))))
    return PhaseMaster(
        pattern, core, float(direction), float(length), period, warp, np.array(points)
    )


def _skeleton_distance(m: PhaseMaster, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    cx, cy = m.core
    px, py = u - cx, v - cy
    dx, dy = np.cos(m.direction), np.sin(m.direction)
    if m.pattern == "arch":  # ridges across the finger, rising over the middle
        return v + m.length * np.exp(-((u - cx) ** 2) / (2 * (0.22 * WIDTH) ** 2))
    t = px * dx + py * dy
    # loop: distance to a ray, ridges recurve around its end; whorl: to a segment on the core
    t = np.maximum(t, 0.0) if m.pattern == "loop" else np.clip(t, -m.length / 2, m.length / 2)
    return np.asarray(np.hypot(px - t * dx, py - t * dy))


def phase(m: PhaseMaster, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """ψ = ψ_c + ψ_s at finger coordinates (x, y)."""
    u, v = x.copy(), y.copy()
    for ax, ay, kx, ky, ph in m.warp:
        arg = kx * x + ky * y + ph
        u += ax * np.sin(arg)
        v += ay * np.cos(arg)
    psi = 2 * np.pi * _skeleton_distance(m, u, v) / m.period
    for sx, sy, sign in m.spirals:
        psi += sign * np.arctan2(v - sy, u - sx)
    return psi


def impression(seed: int, finger: int, k: int, *, quality: str = "good") -> np.ndarray:
    """Touch ``k`` of ``finger``: 8-bit grey, dark ridges, HEIGHT x WIDTH at 500 ppi.

    ``quality="poor"``: a small, dry, faint, off-centre touch that a quality gate must refuse.
    """
    poor = quality == "poor"
    m = _cached_master(seed, finger)
    rng = np.random.default_rng([seed, finger, k, 0x7C0])
    h, w = HEIGHT, WIDTH
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    # where on the finger each pixel lies: rigid placement ...
    angle = np.radians(rng.uniform(-15, 15))
    tx, ty = rng.uniform(-22, 22), rng.uniform(-22, 22)
    cx, cy = w / 2, h / 2
    ca, sa = np.cos(angle), np.sin(angle)
    fx = ca * (xx - cx - tx) + sa * (yy - cy - ty) + cx
    fy = -sa * (xx - cx - tx) + ca * (yy - cy - ty) + cy
    # ... plus plastic distortion: none in the contact core, a smooth brake, rigid outside
    ex, ey = cx + rng.uniform(-20, 20), cy + rng.uniform(-20, 20)
    r = np.hypot(xx - ex, yy - ey)
    r0, band = rng.uniform(40, 70), rng.uniform(60, 110)
    brake = np.clip((r - r0) / band, 0.0, 1.0)
    brake = brake * brake * (3 - 2 * brake)  # smoothstep
    da = np.radians(rng.uniform(-5, 5))
    ddx, ddy = rng.uniform(-7, 7), rng.uniform(-7, 7)
    ox, oy = fx - ex, fy - ey
    fx = fx + brake * ((np.cos(da) - 1) * ox - np.sin(da) * oy + ddx)
    fy = fy + brake * (np.sin(da) * ox + (np.cos(da) - 1) * oy + ddy)
    ridge = np.cos(phase(m, fx, fy))  # +1 on ridges
    ink = np.clip((ridge + rng.uniform(-0.15, 0.25)) * 1.6, -1, 1) * 0.5 + 0.5
    moisture = rng.uniform(-1, 1) if not poor else -1.0
    if moisture < -0.3:  # dry: ridges break into dots and dashes
        speckle = ndimage.gaussian_filter(rng.standard_normal((h, w)), 1.5)
        cut = np.quantile(speckle, (abs(moisture) - 0.3) * (0.5 if poor else 0.35))
        ink = ink * (speckle > cut)
    elif moisture > 0.4:  # wet: ridges swell and merge
        ink = ndimage.grey_dilation(ink, size=(2, 2))
    # contact: a superellipse with a ragged edge
    ax, ay = w * rng.uniform(0.38, 0.48), h * rng.uniform(0.4, 0.5)
    if poor:
        ax, ay = ax * 0.45, ay * 0.35
        ex, ey = ex + 0.25 * w * rng.choice([-1, 1]), ey + 0.25 * h
    n = rng.uniform(2.0, 3.2)
    edge = ndimage.gaussian_filter(rng.standard_normal((h, w)), 12) * 8
    shape = np.abs((xx - ex) / ax) ** n + np.abs((yy - ey) / ay) ** n
    contact = np.clip((1.0 - shape) * 5.0 + edge * 0.05, 0.0, 1.0)
    # sensor: uneven light, shot noise, dust
    light = 235 + rng.uniform(-15, 15) * (xx - cx) / w + rng.uniform(-15, 15) * (yy - cy) / h
    contrast = rng.uniform(150, 200) * (0.3 if poor else 1.0)
    img = light - contrast * ink * contact
    img = img + rng.standard_normal((h, w)) * np.sqrt(np.clip(img, 1, 255)) * rng.uniform(0.3, 0.8)
    for _ in range(int(rng.integers(0, 6))):
        dx0, dy0 = rng.uniform(0, w), rng.uniform(0, h)
        img -= 120 * np.exp(-((xx - dx0) ** 2 + (yy - dy0) ** 2) / (2 * rng.uniform(1, 3) ** 2))
    if poor:
        img = ndimage.gaussian_filter(img, 2.0)
    grey: np.ndarray = np.clip(img, 0, 255).astype(np.uint8)
    return grey


@lru_cache(maxsize=64)
def _cached_master(seed: int, finger: int) -> PhaseMaster:
    return master(seed, finger)
