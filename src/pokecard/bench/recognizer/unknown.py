"""Unknown rejection: fresh leave-one-out photos, card backs and real out-of-catalogue photos."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from pokecard.bench.recognizer.common import CARD_GRADER
from pokecard.imageio import load_rgb
from pokecard.photo import PhotoConfig, card_back, simulate_scene

log = logging.getLogger(__name__)


def unknown_rejection(
    rec: Any, photos: list[tuple[int, np.ndarray, np.ndarray]], row_of: dict[int, int]
) -> dict[str, Any]:
    thr = rec.threshold(rec.policy.verify)
    loo_acc, in_ok = 0, 0
    for i, photo, _ in photos:
        row = row_of[i]
        # the decision the recognizer makes (cosine when the embedding decided, inliers when verified)
        loo_acc += rec.accepts(rec.score(photo, exclude={row}))
        full = rec.score(photo)
        in_ok += rec.accepts(full) and full.ranked[0][0] == row
    backs = [simulate_scene(card_back(), 900 + k, PhotoConfig.eval())[0] for k in range(10)]
    back_named = sum(rec.recognize_array(b).ok for b in backs)
    real = {"photos": 0, "accepted": 0}
    if CARD_GRADER.is_dir():
        files = sorted(CARD_GRADER.glob("*.jpg"))
        for f in files:
            r = rec.recognize_array(load_rgb(f), name=f.name)
            real["photos"] += 1
            real["accepted"] += r.ok
    return {
        "threshold": thr,
        "leave_one_out_photos": len(photos),
        "ooc_accepted": round(loo_acc / len(photos), 4),
        "in_catalogue_correct_and_accepted": round(in_ok / len(photos), 4),
        "card_backs_named": f"{back_named}/{len(backs)}",
        "real_ooc_card_grader": real,
    }
