"""Recognition at one catalogue size: held-out simulated photos (evaluation seeds) as JPEG files, one thread, end to end; leave-one-out unknowns."""

from __future__ import annotations

import dataclasses
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from pokecard.bench.recognizer.common import held_out_photos, latency_summary, write_jpegs
from pokecard.catalog.build import load_processed
from pokecard.progress import progress
from pokecard.recognize import Memo, Recognizer

log = logging.getLogger(__name__)

Photos = list[tuple[int, np.ndarray, np.ndarray]]
MAX_MISSES = 40


def _card(rec: Recognizer, card_id: str | None) -> str | None:
    """A card as "id (name, number)" for the report."""
    if card_id is None:
        return None
    c = rec.db.cards.get(card_id) or {}
    return f"{card_id} ({c.get('name')}, {c.get('number')})"


def eval_photos(root: Path, folder: Path, n: int, seed: int) -> tuple[Photos, list[Path]]:
    """One held-out photo (evaluation seed) of each of ``n`` cards drawn with ``seed``, and the
    same photos as JPEG files under ``folder`` (what a camera gives the recognizer)."""
    cat = load_processed(root)
    rng = np.random.default_rng(seed)
    idx = sorted(rng.choice(len(cat.cards), min(n, len(cat.cards)), replace=False).tolist())
    photos = held_out_photos(cat, idx, 1)
    if folder.exists():
        shutil.rmtree(folder)  # the photos are cheap to redo; stale JPEGs would be wrong
    return photos, write_jpegs(photos, folder)


def recognition(root: Path, photos: Photos, files: list[Path], label: str) -> dict[str, Any]:
    """top-1, accepted right/wrong and end-to-end ms (``recognize_file``, decode included)
    per photo on one thread; then the same photo with its card left out of the DB
    (``score(photo, exclude={row})``): accepted means an unknown card was named.

    The first photo is recognized once before the clock runs (lazy set-up, first page-ins)."""
    import cv2

    cv2.setNumThreads(1)
    rec = Recognizer(root, threads=1)
    cat = load_processed(root)
    row_of_id = {cid: r for r, cid in enumerate(rec.db.card_ids)}
    rows = [row_of_id[cat.cards[i].card_id] for i, _, _ in photos]
    rec.recognize_file(files[0])  # warm-up, not counted
    absent = rec.with_policy(absent=True)
    ok = right = wrong = ooc = ooc_absent = 0
    misses: list[dict[str, Any]] = []  # the photos whose top-1 is another card: which, and how close
    total: list[float] = []
    stages: dict[str, list[float]] = {k: [] for k in ("decode", "detect", "embed", "search", "verify")}
    with progress(len(photos), f"recognizing ({label})") as advance:
        for (_, photo, _), f, row in zip(photos, files, rows, strict=True):
            truth = rec.db.card_ids[row]
            r = rec.recognize_file(f)
            total.append(float(r.timings_ms.get("total", 0.0)))
            for k, v in stages.items():
                v.append(float(r.timings_ms.get(k, 0.0)))
            ok += r.top_id == truth
            if r.top_id != truth and len(misses) < MAX_MISSES:
                misses.append({"file": f.name, "truth": _card(rec, truth), "top": _card(rec, r.top_id),
                               "score": r.score, "status": r.status})  # fmt: skip
            if r.ok:
                right += r.card_id == truth
                wrong += r.card_id != truth
            memo = Memo()  # the two unknown scorings share the photo's detections and matches
            ooc += rec.accepts(rec.score(photo, exclude={row}, memo=memo))
            ooc_absent += absent.accepts(absent.score(photo, exclude={row}, memo=memo))
            advance(1)
    n = len(photos)
    return {
        "photos": n,
        "top1": round(ok / n, 4),
        "accepted_right": round(right / n, 4),
        "accepted_wrong": round(wrong / n, 4),
        "unknown_accepted": round(ooc / n, 4),
        "unknown_absent": round(ooc_absent / n, 4),
        "ms": latency_summary(total),
        "stages_ms_p50": {k: latency_summary(v)["p50"] for k, v in stages.items()},
        "misses": misses,
        "policy": dataclasses.asdict(rec.policy),
        "thresholds": dict(rec.thresholds),
    }
