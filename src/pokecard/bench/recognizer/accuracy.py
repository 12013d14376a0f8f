"""Top-1, accepted right/wrong and per-stage latency of one recognizer mode on the photos as JPEG files; corner accuracy of the detector."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from pokecard.bench.detect import corner_report
from pokecard.bench.recognizer.common import latency_summary

log = logging.getLogger(__name__)


def run_mode(
    rec: Any,
    photos: list[tuple[int, np.ndarray, np.ndarray]],
    row_of: dict[int, int],
    files: list[Path] | None = None,
) -> dict[str, Any]:
    """top-1 (the best-ranked card, thresholds aside) and per-stage latency of one mode.

    ``files``: the same photos as JPEG files, run the way a user runs them
    (``recognize_file``): ``total`` is then end to end, decode included. Without them the
    arrays are scored directly (decode 0)."""
    ok = right = wrong = 0  # top-1; accepted (status ok) right / wrong
    stages: dict[str, list[float]] = {
        k: [] for k in ("decode", "detect", "embed", "search", "verify", "total")
    }
    for j, (i, photo, _) in enumerate(photos):
        truth = rec.db.card_ids[row_of[i]]
        if files is not None:
            r = rec.recognize_file(files[j])
            for k in stages:
                stages[k].append(float(r.timings_ms.get(k, 0.0)))
            ok += r.top_id == truth
            if r.ok:
                right += r.card_id == truth
                wrong += r.card_id != truth
            continue
        t0 = time.perf_counter()
        sc = rec.score(photo)
        total = (time.perf_counter() - t0) * 1000
        for k in ("detect", "embed", "search", "verify"):
            stages[k].append(sc.timings.get(k, 0.0))
        stages["decode"].append(0.0)
        stages["total"].append(total)
        ok += bool(sc.ranked) and sc.ranked[0][0] == row_of[i]
        if rec.accepts(sc):
            right += sc.ranked[0][0] == row_of[i]
            wrong += sc.ranked[0][0] != row_of[i]
    return {
        "top1": round(ok / len(photos), 4),
        "accepted_right": int(right),
        "accepted_wrong": int(wrong),
        "photos": len(photos),
        "ms": {k: latency_summary(v) for k, v in stages.items()},
    }


def corner_accuracy(photos: list[tuple[int, np.ndarray, np.ndarray]]) -> dict[str, Any]:
    """Corner accuracy and detect latency (one thread): :func:`pokecard.bench.detect.corner_report`."""
    return corner_report((photo, truth) for _, photo, truth in photos)
