"""What the recognizer is measured against: perceptual hashing of the whole photo, and brute-force ORB matching against every card."""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from pokecard.bench.recognizer.common import latency_summary
from pokecard.catalog.model import Catalog
from pokecard.detect import detect
from pokecard.features import orb_features

log = logging.getLogger(__name__)


def phash_baseline(
    catalog: Catalog, photos: list[tuple[int, np.ndarray, np.ndarray]], crops: bool
) -> dict[str, Any]:
    import imagehash
    from PIL import Image

    ref = np.array(
        [imagehash.phash(Image.fromarray(catalog.load_image(c))).hash.reshape(-1) for c in catalog.cards]
    )
    ok, ts = 0, []
    for i, photo, _ in photos:
        t0 = time.perf_counter()
        img = detect(photo).crop if crops else photo
        h = imagehash.phash(Image.fromarray(img)).hash.reshape(-1)
        best = int(np.argmin(np.sum(ref != h, axis=1)))
        ts.append((time.perf_counter() - t0) * 1000)
        ok += best == i
    return {"top1": round(ok / len(photos), 4), "photos": len(photos), "ms": latency_summary(ts)}


def orb_bruteforce(
    catalog: Catalog, photos: list[tuple[int, np.ndarray, np.ndarray]], nfeat: int = 1000
) -> dict[str, Any]:
    """Popular open-source scanners: ORB of the photo vs ORB of every card, RANSAC inliers, best wins."""
    import cv2

    refs = []
    for c in catalog.cards:
        img = catalog.load_image(c)
        refs.append(orb_features(img, nfeat))
    bf = cv2.BFMatcher(cv2.NORM_HAMMING)
    ok, ts = 0, []
    for i, photo, _ in photos:
        t0 = time.perf_counter()
        qxy, qd = orb_features(photo, nfeat)
        best, best_n = -1, -1
        for j, (rxy, rd) in enumerate(refs):
            good = [
                m[0] for m in bf.knnMatch(qd, rd, k=2) if len(m) == 2 and m[0].distance < 0.75 * m[1].distance
            ]
            n = 0
            if len(good) >= 8:
                src = rxy[[m.trainIdx for m in good]].reshape(-1, 1, 2)
                dst = qxy[[m.queryIdx for m in good]].reshape(-1, 1, 2)
                H, mask = cv2.findHomography(src, dst, cv2.RANSAC, 5.0)
                n = int(mask.sum()) if H is not None else 0
            if n > best_n:
                best, best_n = j, n
        ts.append((time.perf_counter() - t0) * 1000)
        ok += best == i
    return {
        "top1": round(ok / len(photos), 4),
        "photos": len(photos),
        "ms": latency_summary(ts),
        "features": nfeat,
    }
