"""Corner accuracy and cost of :mod:`pokecard.detect` on photo-simulator scenes.

The photos are the ones the recognizer benchmark's corner block uses: ``n_cards`` cards drawn
with ``np.random.default_rng(0)`` from the processed catalogue, ``per_card`` scenes each,
``simulate_scene(card, eval_seed(i, k), PhotoConfig.eval())`` (960 x 720, ground-truth
corners). The error of a photo is :func:`pokecard.detect.corner_error` (mean corner distance
over the card height, the better of the two 180-degree orderings); a photo where no quad is
found counts as an infinite error.

    python -c "from pokecard.bench.detect import run; print(run())"
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from pokecard.catalog import build_catalog, load_catalog
from pokecard.catalog.build import load_processed
from pokecard.detect import corner_error, detect
from pokecard.photo import PhotoConfig, eval_seed, simulate_scene

SHARED_CATALOG = Path("../shared/data/catalog/temporal-forces")


def corner_report(photos: Iterable[tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    """Detect every (photo, true corners) pair on one thread: found rate, share of photos under
    2 % and 5 % error, median error (found photos), detect latency p50 / p95 (ms)."""
    import cv2

    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        errs, ms, found = [], [], 0
        for photo, truth in photos:
            t0 = time.perf_counter()
            d = detect(photo)
            ms.append((time.perf_counter() - t0) * 1000)
            found += d.found
            errs.append(corner_error(d.corners, truth) if d.found else float("inf"))
    finally:
        cv2.setNumThreads(threads)
    if not errs:
        raise ValueError("corner_report: no photos given")
    e = np.asarray(errs)
    fin = e[np.isfinite(e)]
    return {
        "photos": len(e),
        "found": round(found / len(e), 4),
        "share_under_2pct": round(float(np.mean(e < 0.02)), 4),
        "share_under_5pct": round(float(np.mean(e < 0.05)), 4),
        "median_error_pct": round(100 * float(np.median(fin)), 2) if len(fin) else None,
        "detect_ms": {
            "p50": round(float(np.percentile(ms, 50)), 1),
            "p95": round(float(np.percentile(ms, 95)), 1),
        },
    }


def scene_photos(
    n_cards: int = 100, per_card: int = 1, catalog: Path = SHARED_CATALOG
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The benchmark's eval scenes of ``catalog`` (built into a temporary root first)."""
    if not (catalog / "metadata.json").is_file():
        raise FileNotFoundError(f"{catalog}: no catalogue here (metadata.json missing)")
    root = Path(tempfile.mkdtemp(prefix="pokecard-bench-detect-"))
    build_catalog(load_catalog(catalog), root)
    cat = load_processed(root)
    rng = np.random.default_rng(0)
    idx = sorted(rng.choice(len(cat.cards), min(n_cards, len(cat.cards)), replace=False).tolist())
    out = []
    for i in idx:
        img = cat.load_image(cat.cards[i])
        for k in range(per_card):
            out.append(simulate_scene(img, eval_seed(i, k), PhotoConfig.eval()))
    return out


def run(n_cards: int = 100, per_card: int = 1, catalog: Path = SHARED_CATALOG) -> dict[str, Any]:
    """Scenes of the catalogue -> :func:`corner_report`."""
    return corner_report(scene_photos(n_cards, per_card, catalog))
