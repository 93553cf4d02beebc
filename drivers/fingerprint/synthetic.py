"""Synthetic fingerprints, SFinGe-style, deterministic from a seed: masters and impressions.

A *master* is one finger: an orientation field from singular points (the
Sherlock–Watt model: loops, whorls, arches), a ridge-frequency map, and a ridge
pattern grown from random seeds by iterative, space-variant Gabor filtering.
An *impression* is one touch of that finger on a reader: rotation, translation,
elastic (non-linear) distortion, pressure (ridge thickness), a partial
footprint, blur and noise. ``impression(seed, finger, k)`` always returns the
same pixels for the same arguments. Used by tests, the bench and the simulated
reader; there is no public fingerprint database on the stations.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import ndimage

WIDTH = 320
HEIGHT = 400  # 16 x 20 mm at 500 ppi, a typical optical reader's window
RESOLUTION_PPI = 500
_BINS = 16
_ITERATIONS = 14


@dataclass(frozen=True)
class Master:
    """One synthetic finger: its ridge field (−1..1) and the orientation it grew along."""

    ridges: np.ndarray  # float32 HEIGHT x WIDTH, positive on ridges
    orientation: np.ndarray  # radians, ridge direction
    pattern: str  # "loop", "whorl", "arch", "tented_arch"


def _orientation(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, str]:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    z = xx + 1j * yy
    pattern = rng.choice(
        ["loop", "loop", "whorl", "arch", "tented_arch"], p=[0.3, 0.3, 0.25, 0.08, 0.07]
    )
    cx, cy = w * rng.uniform(0.38, 0.62), h * rng.uniform(0.32, 0.5)
    cores: list[complex] = []
    deltas: list[complex] = []
    if pattern == "loop":
        side = rng.choice([-1.0, 1.0])
        cores = [complex(cx, cy)]
        deltas = [complex(cx + side * w * rng.uniform(0.3, 0.5), cy + h * rng.uniform(0.35, 0.55))]
    elif pattern == "whorl":
        d = rng.uniform(10, 30)
        a = rng.uniform(0, np.pi)
        cores = [complex(cx, cy) + d * np.exp(1j * a), complex(cx, cy) - d * np.exp(1j * a)]
        deltas = [
            complex(cx - w * rng.uniform(0.35, 0.5), cy + h * rng.uniform(0.4, 0.55)),
            complex(cx + w * rng.uniform(0.35, 0.5), cy + h * rng.uniform(0.4, 0.55)),
        ]
    elif pattern == "tented_arch":
        cores = [complex(cx, cy)]
        deltas = [complex(cx + rng.uniform(-8, 8), cy + h * rng.uniform(0.12, 0.2))]
    if cores:
        theta = np.zeros((h, w))
        for c in cores:
            theta -= np.angle(z - c)
        for delta in deltas:
            theta += np.angle(z - delta)
        theta = theta / 2.0
    else:  # plain arch: ridges cross the finger and rise in the middle
        amp = rng.uniform(0.6, 1.2)
        theta = np.arctan(amp * np.cos(np.pi * (xx - cx) / w) * np.exp(-yy / h) * np.sign(cx - xx))
    theta = theta + rng.uniform(-0.15, 0.15)  # how the finger sits on the platen
    # smooth via the doubled-angle vector field so the field has no seams
    c2 = ndimage.gaussian_filter(np.cos(2 * theta), 3)
    s2 = ndimage.gaussian_filter(np.sin(2 * theta), 3)
    return (0.5 * np.arctan2(s2, c2)).astype(np.float64), str(pattern)


@lru_cache(maxsize=4)
def _gabor_bank(h: int, w: int, period: float) -> np.ndarray:
    """FFTs of Gabor filters, one per orientation bin, padded to h x w."""
    size = 25
    half = size // 2
    y, x = np.mgrid[-half : half + 1, -half : half + 1].astype(np.float64)
    sigma = period * 0.45
    bank = np.empty((_BINS, h, w), dtype=np.complex128)
    for b in range(_BINS):
        ridge_dir = np.pi * b / _BINS
        # the wave runs across the ridges (normal to the ridge direction)
        nx, ny = -np.sin(ridge_dir), np.cos(ridge_dir)
        along = x * nx + y * ny
        kernel = np.exp(-(x**2 + y**2) / (2 * sigma**2)) * np.cos(2 * np.pi * along / period)
        kernel -= kernel.mean()
        padded = np.zeros((h, w))
        padded[:size, :size] = kernel
        padded = np.roll(padded, (-half, -half), axis=(0, 1))
        bank[b] = np.fft.fft2(padded)
    return bank


def master(seed: int, finger: int) -> Master:
    """The master print of ``finger`` in the population drawn from ``seed``."""
    rng = np.random.default_rng([seed, finger, 0x5F1])
    h, w = HEIGHT, WIDTH
    theta, pattern = _orientation(rng, h, w)
    period = float(rng.uniform(8.5, 10.0))
    bank = _gabor_bank(h, w, round(period * 4) / 4)
    bins = np.mod(np.round(theta / np.pi * _BINS), _BINS).astype(np.int32)
    img = np.zeros((h, w))
    n_seeds = int(rng.integers(60, 120))
    img[rng.integers(0, h, n_seeds), rng.integers(0, w, n_seeds)] = rng.choice([-1.0, 1.0], n_seeds)
    for _ in range(_ITERATIONS):
        spectrum = np.fft.fft2(img)
        out = np.zeros((h, w))
        for b in range(_BINS):
            where = bins == b
            if where.any():
                out[where] = np.real(np.fft.ifft2(spectrum * bank[b]))[where]
        scale = np.percentile(np.abs(out), 90) or 1.0
        img = np.clip(out / scale * 1.6, -1.0, 1.0)
    return Master(img.astype(np.float32), theta, pattern)


def impression(seed: int, finger: int, k: int, *, quality: str = "good") -> np.ndarray:
    """Impression ``k`` of ``finger``: 8-bit grey, dark ridges, HEIGHT x WIDTH at 500 ppi.

    ``quality="poor"`` makes a smudged, faint, mostly off-centre touch that a
    quality check should refuse. ``quality="hard"`` is a harder but usable touch
    (the bench's hard set): twice the rotation and translation, 1.8x the elastic
    distortion, stronger pressure changes and noise, and a partial print (the
    contact area shrunk to 55..85 % and pushed off-centre).
    """
    hard = quality == "hard"
    m = _cached_master(seed, finger)
    rng = np.random.default_rng([seed, finger, k, 0x1A9])
    h, w = HEIGHT, WIDTH
    angle = np.radians(rng.uniform(-12, 12) * (2.0 if hard else 1.0))
    tx, ty = rng.uniform(-18, 18), rng.uniform(-18, 18)
    if hard:
        tx, ty = tx * 2.0, ty * 2.0
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    cx, cy = w / 2, h / 2
    # elastic distortion: smooth random displacement, stronger away from the centre
    amp = rng.uniform(2.0, 4.5) * (1.8 if hard else 1.0)
    dx = ndimage.gaussian_filter(rng.standard_normal((h, w)), 40) * amp * 40
    dy = ndimage.gaussian_filter(rng.standard_normal((h, w)), 40) * amp * 40
    rx, ry = xx - cx - tx, yy - cy - ty
    ca, sa = np.cos(angle), np.sin(angle)
    src_x = ca * rx + sa * ry + cx + dx
    src_y = -sa * rx + ca * ry + cy + dy
    ridges = ndimage.map_coordinates(m.ridges, [src_y, src_x], order=1, mode="constant", cval=0)
    # pressure: a harder press makes ridges thicker (lower threshold)
    pressure = rng.uniform(-0.25, 0.25) * (1.6 if hard else 1.0)
    ink = 1.0 / (1.0 + np.exp(-(ridges + pressure) * 6.0))
    # footprint: the elliptical contact area
    ex, ey = cx + tx * 0.5 + rng.uniform(-10, 10), cy + ty * 0.5 + rng.uniform(-10, 10)
    ax, ay = w * rng.uniform(0.42, 0.5), h * rng.uniform(0.44, 0.52)
    if quality == "poor":
        ax, ay = ax * 0.45, ay * 0.4
    if hard:  # a partial print: a smaller contact area, off-centre
        part = rng.uniform(0.55, 0.85)
        ax, ay = ax * part, ay * part
        ex += rng.uniform(-0.25, 0.25) * w
        ey += rng.uniform(-0.2, 0.2) * h
    contact = ((xx - ex) / ax) ** 2 + ((yy - ey) / ay) ** 2
    footprint = np.clip((1.0 - contact) * 4.0, 0.0, 1.0)
    darkness = rng.uniform(170, 215)
    if quality == "poor":
        darkness *= 0.25
    img = 245.0 - darkness * ink * footprint
    img = ndimage.gaussian_filter(img, rng.uniform(0.5, 0.9))
    noise = {"good": 6.0, "hard": 16.0}.get(quality, 30.0)
    img = img + rng.standard_normal((h, w)) * rng.uniform(2.0, noise)
    if quality == "poor":
        img = ndimage.gaussian_filter(img, 2.5)
    grey: np.ndarray = np.clip(img, 0, 255).astype(np.uint8)
    return grey


@lru_cache(maxsize=64)
def _cached_master(seed: int, finger: int) -> Master:
    return master(seed, finger)
