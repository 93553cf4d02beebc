"""Fingerprint speed figures: extract/compare times, verify latency (accuracy: bench.fingerprint).

Run: ``.venv/bin/python -m bench.fingerprint_latency [--fingers 60] [--impressions 4] [--seed 1]
[--set normal|hard] [--compare-max-minutiae 150]``.

On the synthetic set (drivers/fingerprint/synthetic.py; ``--set hard``: more
rotation, distortion, noise and partial prints): every impression is
extracted; genuine pairs are all pairs of one finger's impressions, impostor
pairs the first impressions of every two fingers; scores are full comparisons
(no early stop), so FNMR/FMR/EER are the engine's. Verify (capture excluded)
is what ``FingerprintService.verify`` does: extract the probe with the fast
quality, then compare against the patient's 3-view enrolled record (views
with NFIQ 2, as enrollment makes them) best quality first, stopping at the
threshold. The baseline, measured in the same run on the same probes, is the
previous path: NFIQ 2 on the probe and a full comparison against every view.
Targets: verify median ≤ 150 ms, EER ≤ 2 %.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from itertools import combinations
from pathlib import Path

import numpy as np

from drivers.fingerprint import synthetic
from drivers.fingerprint.base import FingerImage
from drivers.fingerprint.nbis import NbisEngine

THRESHOLD = NbisEngine.default_threshold


def _image(pixels: np.ndarray) -> FingerImage:
    return FingerImage(pixels.shape[1], pixels.shape[0], pixels.tobytes(), 500)


def fnmr_at_fmr(genuine: np.ndarray, impostor: np.ndarray, fmr: float) -> tuple[float, float]:
    """(threshold, FNMR) at the lowest threshold whose FMR ≤ fmr (scores: higher = match)."""
    for t in np.unique(np.concatenate([genuine, impostor, [np.inf]])):
        if np.mean(impostor >= t) <= fmr:
            return float(t), float(np.mean(genuine < t))
    return float("inf"), 1.0


def eer(genuine: np.ndarray, impostor: np.ndarray) -> float:
    best = (2.0, 0.0)
    for t in np.unique(np.concatenate([genuine, impostor])):
        fnmr, fmr = float(np.mean(genuine < t)), float(np.mean(impostor >= t))
        if abs(fnmr - fmr) < best[0]:
            best = (abs(fnmr - fmr), (fnmr + fmr) / 2)
    return best[1]


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fingers", type=int, default=60)
    ap.add_argument("--impressions", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--set", choices=["normal", "hard"], default="normal")
    ap.add_argument("--compare-max-minutiae", type=int, default=None)
    ap.add_argument("--verify-fingers", type=int, default=20)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    engine = NbisEngine(compare_max_minutiae=args.compare_max_minutiae)
    baseline_engine = NbisEngine(compare_max_minutiae=150)
    quality = "hard" if args.set == "hard" else "good"

    t0 = time.perf_counter()
    images = {
        (f, k): _image(synthetic.impression(args.seed, f, k, quality=quality))
        for f in range(args.fingers)
        for k in range(args.impressions)
    }
    gen_s = time.perf_counter() - t0

    extract_fast_ms, templates = [], {}
    for key, img in images.items():
        s = time.perf_counter()
        templates[key] = engine.extract(img, quality="fast").template
        extract_fast_ms.append(_ms(s))

    genuine, genuine_ms = [], []
    for f in range(args.fingers):
        for a, b in combinations(range(args.impressions), 2):
            s = time.perf_counter()
            genuine.append(engine.compare(templates[f, a], templates[f, b]))
            genuine_ms.append(_ms(s))
    impostor, impostor_ms = [], []
    for f, g in combinations(range(args.fingers), 2):
        s = time.perf_counter()
        impostor.append(engine.compare(templates[f, 0], templates[g, 0]))
        impostor_ms.append(_ms(s))

    # verify: probe = the last impression, record = the first three with NFIQ 2 (enrollment)
    n_verify = min(args.fingers, args.verify_fingers)
    enrolled_views = min(3, args.impressions - 1)
    extract_nfiq2_ms, nfiq2 = [], []
    records = {}
    for f in range(n_verify):
        views = []
        for k in range(enrolled_views):
            s = time.perf_counter()
            got = engine.extract(images[f, k])
            extract_nfiq2_ms.append(_ms(s))
            nfiq2.append(got.quality)
            views.append(got.template)
        records[f] = engine.merge(views)
    verify_ms, baseline_ms, decisions, baseline_decisions = [], [], [], []
    for f in range(n_verify):
        probe_img = images[f, args.impressions - 1]
        s = time.perf_counter()
        probe = baseline_engine.extract(probe_img)  # before: NFIQ 2 + every view
        score = baseline_engine.compare(probe.template, records[f])
        baseline_ms.append(_ms(s))
        baseline_decisions.append(score >= THRESHOLD)
        s = time.perf_counter()
        probe = engine.extract(probe_img, quality="fast")  # now: fast quality + early stop
        score = engine.compare(probe.template, records[f], stop_at=THRESHOLD)
        verify_ms.append(_ms(s))
        decisions.append(score >= THRESHOLD)

    g, i = np.array(genuine), np.array(impostor)
    t1, fnmr1 = fnmr_at_fmr(g, i, 0.01)
    t01, fnmr01 = fnmr_at_fmr(g, i, 0.001)
    result = {
        "set": {
            "kind": args.set,
            "fingers": args.fingers,
            "impressions_per_finger": args.impressions,
            "seed": args.seed,
            "genuine_pairs": len(genuine),
            "impostor_pairs": len(impostor),
            "generation_s": round(gen_s, 1),
            "nfiq2_median_enrolled_views": statistics.median(nfiq2),
        },
        "compare_max_minutiae": engine.compare_max_minutiae,
        "extract_fast_ms_median": round(statistics.median(extract_fast_ms), 1),
        "extract_nfiq2_ms_median": round(statistics.median(extract_nfiq2_ms), 1),
        "compare_genuine_ms_median": round(statistics.median(genuine_ms), 2),
        "compare_impostor_ms_median": round(statistics.median(impostor_ms), 2),
        "verify_ms_median": round(statistics.median(verify_ms), 1),
        "verify_ms_p95": round(float(np.percentile(verify_ms, 95)), 1),
        "verify_probes": n_verify,
        "verify_genuine_accepted": sum(decisions),
        "baseline_verify_ms_median": round(statistics.median(baseline_ms), 1),
        "baseline_genuine_accepted": sum(baseline_decisions),
        "verify_vs_baseline_ratio": round(
            statistics.median(verify_ms) / statistics.median(baseline_ms), 2
        ),
        "fnmr_at_fmr_1pct": round(fnmr1, 4),
        "threshold_at_fmr_1pct": t1,
        "fnmr_at_fmr_0_1pct": round(fnmr01, 4),
        "threshold_at_fmr_0_1pct": t01,
        "fnmr_at_threshold": round(float(np.mean(g < THRESHOLD)), 4),
        "fmr_at_threshold": round(float(np.mean(i >= THRESHOLD)), 4),
        "eer": round(eer(g, i), 4),
        "genuine_score_min_median": [float(g.min()), float(np.median(g))],
        "impostor_score_median_max": [float(np.median(i)), float(i.max())],
        "targets": {"verify_ms_median_max": 150, "eer_max": 0.02},
    }
    result["targets_met"] = {
        "verify": result["verify_ms_median"] <= 150,
        "eer": result["eer"] <= 0.02,
    }
    print(json.dumps(result, indent=2))
    out = args.out or Path(f"bench/results/fingerprint-latency-{args.set}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
