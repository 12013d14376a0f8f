"""The unknown decision's thresholds, calibrated on the DB just built (docs/recognizer.md, "unknown").

One layer above the recognizer (it runs one) and below the build (which calls it last).
``threshold_stats`` and ``choose_threshold`` are the pure part: what a threshold does to the
in-catalogue and out-of-catalogue scores, and the lowest one that keeps the out-of-catalogue
acceptance under a bound.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from pokecard.catalog.model import Catalog
from pokecard.errors import ImageError
from pokecard.imageio import is_image_name, load_rgb
from pokecard.photo import PhotoConfig, simulate_scene
from pokecard.progress import progress
from pokecard.recognize import DECODE_MIN_SIDE, EMBED_FIRST_SHARE, Memo, Recognizer, Scored
from pokecard.store import Store

log = logging.getLogger(__name__)


# inside the training range of pokecard.photo.seeds, but never used by a trainer
CALIBRATION_SEED_BASE = 7 << 58
# photos scored at once: one per core, up to a Pi 5's four
CALIBRATION_THREADS = 4


def scene(card_rgb: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A simulated photo of a card (the project's photo simulator, eval preset)."""
    return simulate_scene(card_rgb, seed, PhotoConfig.eval())


def threshold_stats(
    t: float, in_scores: np.ndarray, in_correct: np.ndarray, ooc_scores: np.ndarray
) -> dict[str, Any]:
    """What a threshold does: share of out-of-catalogue photos accepted, in-catalogue accuracy kept."""
    acc0 = float(np.mean(in_correct)) if len(in_correct) else 0.0
    acc = float(np.mean(in_correct & (in_scores >= t))) if len(in_correct) else 0.0
    below = ooc_scores[ooc_scores < t]
    return {
        "threshold": float(t),
        "ooc_accepted": float(np.mean(ooc_scores >= t)) if len(ooc_scores) else 0.0,
        "in_catalogue_top1": acc0,
        "in_catalogue_accepted_correct": acc,
        "accuracy_drop_points": round(100 * (acc0 - acc), 2),
        "max_rejected_ooc": float(below.max()) if len(below) else None,
    }


def choose_threshold(
    in_scores: np.ndarray,
    in_correct: np.ndarray,
    ooc_scores: np.ndarray,
    max_ooc: float = 0.01,
    floor: float = 0.0,
) -> dict[str, Any]:
    """The lowest threshold (>= ``floor``) that accepts at most ``max_ooc`` of out-of-catalogue photos."""
    cands = np.unique(np.concatenate([in_scores, ooc_scores + 1e-6, [floor]]))
    for t in cands[cands >= floor]:
        st = threshold_stats(float(t), in_scores, in_correct, ooc_scores)
        if st["ooc_accepted"] <= max_ooc:
            return st
    return threshold_stats(float(cands.max()) + 1.0, in_scores, in_correct, ooc_scores)


def choose_threshold_by_source(
    in_scores: np.ndarray,
    in_correct: np.ndarray,
    sources: dict[str, np.ndarray],
    max_ooc: float = 0.01,
    floor: float = 0.0,
) -> dict[str, Any]:
    """The lowest threshold (>= ``floor``) that accepts at most ``max_ooc`` of each source of
    out-of-catalogue photos: pooled, many easy photos of one source (real photos of other sets)
    would let a hard source (cards left out of the DB) through at several times the bound."""
    used = {k: np.asarray(v, np.float64) for k, v in sources.items() if len(v)}
    t = max(
        [floor]
        + [choose_threshold(in_scores, in_correct, v, max_ooc, floor)["threshold"] for v in used.values()]
    )
    pooled = np.concatenate(list(used.values())) if used else np.zeros(0)
    st = threshold_stats(t, in_scores, in_correct, pooled)
    st["ooc_accepted_by_source"] = {k: float(np.mean(v >= t)) for k, v in used.items()}
    return st


def choose_name_bar(
    t: float,
    in_scores: np.ndarray,
    in_correct: np.ndarray,
    in_names: np.ndarray,
    absent_scores: np.ndarray,
    absent_names: np.ndarray,
    max_ooc: float = 0.01,
) -> dict[str, Any]:
    """The lowest name bar (-1: none) that, with the inlier threshold ``t``, accepts at most
    ``max_ooc`` of the photos whose card is absent from the DB. Names not read (NaN) pass:
    the bar cannot speak against them, so they count as accepted (docs/recognizer.md)."""
    in_names = np.where(np.isnan(in_names), np.inf, in_names)
    absent_names = np.where(np.isnan(absent_names), np.inf, absent_names)
    over = absent_scores >= t
    cands = np.unique(np.concatenate([[-1.0], absent_names[over & np.isfinite(absent_names)] + 1e-6]))
    bar = float(cands[-1])
    for b in cands:
        if (np.mean(over & (absent_names >= b)) if len(over) else 0.0) <= max_ooc:
            bar = float(b)
            break
    ok = in_correct & (in_scores >= t)
    n = max(len(in_scores), 1)
    return {
        "threshold": round(bar, 4),
        "absent_accepted_without": float(np.mean(over)) if len(over) else 0.0,
        "absent_accepted": float(np.mean(over & (absent_names >= bar))) if len(over) else 0.0,
        "in_catalogue_accepted_correct_without": float(ok.sum() / n),
        "in_catalogue_accepted_correct": float((ok & (in_names >= bar)).sum() / n),
        "absent_photos": int(len(absent_scores)),
    }


def embed_first_share(d: dict[str, list[float]], threshold: float) -> dict[str, float]:
    """How often the embedding alone would have answered a calibration photo, rightly, at the
    embedding-first bar: what the first look's embedding is worth on this catalogue."""
    bar = threshold + EMBED_FIRST_SHARE * (1.0 - threshold)
    best, second, ok = np.array(d["in"]), np.array(d["second"]), np.array(d["ok"]) > 0
    decides = (best >= bar) & (best > second) & ok
    return {"bar": round(float(bar), 4), "decides": round(float(decides.mean()) if len(best) else 0.0, 4)}


def calibrate_reference(
    store: Store | str | os.PathLike[str],
    catalog: Catalog,
    *,
    ooc_dir: str | os.PathLike[str] | None = None,
    n: int = 120,
    backend: str = "auto",
    seed: int = 0,
    threads: int | None = None,
) -> dict[str, Any]:
    """Unknown thresholds from held-out photos (see docs/recognizer.md, "unknown").

    In-catalogue: one simulated photo of each of ``n`` sampled cards. Out-of-catalogue: the
    same photos with their own card excluded from the DB (leave-one-out: exactly what the
    recognizer would answer if the card were not in the catalogue), plus every image in
    ``ooc_dir`` (real photos of cards that are not in the catalogue, card backs). ``threads``:
    photos scored at once (default: one per core, at most ``CALIBRATION_THREADS``).
    """
    base = Recognizer(store, backend=backend, threads=None, top_k=5)
    # Exhaustive (no early stop): a score then does not depend on the placeholder thresholds
    # of the DB being built, and bounds what any threshold's early stop returns, so the
    # out-of-catalogue rate it calibrates is not exceeded by the recognizer (docs/recognizer.md).
    db = base.db
    rng = np.random.default_rng(seed)
    # more photos than cards (small catalogues): several photos per card, other seeds
    rows = sorted(rng.choice(len(db), size=min(n, len(db)), replace=False).tolist())
    rows = [rows[j % len(rows)] for j in range(max(n, len(rows)))] if n > len(db) else rows
    out: dict[str, Any] = {"method": "leave-one-out simulated photos", "photos": len(rows), "thresholds": {}}
    modes = [("min_inliers", True)] + ([("min_score", False)] if db.mode == "embedding" else [])
    recs = {verify: base.with_policy(verify=verify, exhaustive=True) for _, verify in modes}
    data: dict[str, dict[str, list[float]]] = {
        k: {"in": [], "second": [], "ok": [], "loo": [], "real": []} for k, _ in modes
    }
    # the name bar: the verified answers' names, and the left-out card scored as absent from the
    # DB (its twin's template flags as a DB without it has them), the case the bar is there for
    names = base.db.keypoints.name_strips is not None
    absent = recs[True].with_policy(absent=True)
    nd: dict[str, list[float]] = {"in": [], "absent": [], "absent_name": []}
    ooc_files = (
        sorted(p for p in Path(ooc_dir).rglob("*") if p.is_file() and is_image_name(p)) if ooc_dir else []
    )
    photos = _Photos(recs, absent, modes, catalog, seed, names)
    threads = max(1, threads or min(CALIBRATION_THREADS, os.cpu_count() or 1))
    with (
        progress(len(rows) + len(ooc_files), "calibrating unknown threshold") as advance,
        ThreadPoolExecutor(threads) as pool,
    ):
        # photos are independent and OpenCV, ONNX Runtime and usearch release the GIL: scored in
        # threads, read back in order, the thresholds are those of one thread (tested)
        for got in pool.map(photos.simulated, range(len(rows)), rows):
            for key, vals in got.items():
                parts = ("in", "absent", "absent_name") if key == "name" else ("in", "second", "ok", "loo")
                for part, v in zip(parts, vals, strict=True):
                    (nd if key == "name" else data[key])[part].append(v)
            advance(1)
        for got_real in pool.map(photos.real, ooc_files):
            for key, v in got_real.items():
                data[key]["real"].append(v)
            advance(1)
    _choose(out, data, nd if names else None)
    out["real_ooc_photos"] = len(ooc_files)
    if "min_score" in out["thresholds"]:
        out["embed_first"] = embed_first_share(data["min_score"], out["thresholds"]["min_score"])
    if "min_score" not in out["thresholds"]:
        out["thresholds"]["min_score"] = 0.5
    return out


def _best(sc: Scored) -> float:
    return sc.ranked[0][1] if sc.ranked else 0.0


class _Photos:
    """Scores a calibration photo every way calibration reads it, one photo per thread."""

    def __init__(
        self,
        recs: dict[bool, Recognizer],
        absent: Recognizer,
        modes: list[tuple[str, bool]],
        catalog: Catalog,
        seed: int,
        names: bool,
    ) -> None:
        self.recs, self.absent, self.modes, self.names = recs, absent, modes, names
        self.catalog, self.seed = catalog, seed
        self.by_id = {c.card_id: c for c in catalog.cards}
        self.card_ids = absent.db.card_ids

    def simulated(self, j: int, row: int) -> dict[str, list[float]]:
        """The ``j``-th in-catalogue photo (of ``row``'s card): per kind of score, its best,
        second, whether the best is right, and its best left out; "name": the name bar's reading
        in the DB, and left out as absent (its score and reading)."""
        got: dict[str, list[float]] = {}
        card = self.by_id.get(self.card_ids[row])
        if card is None:
            return got
        seed = CALIBRATION_SEED_BASE + self.seed * 100_000 + j * 4096 + row
        photo, _ = scene(self.catalog.load_image(card), seed)
        memo = Memo()  # the photo's detections, features and matches, computed once for all scorings
        for key, verify in self.modes:
            rec = self.recs[verify]
            sc = rec.score(photo, memo=memo)
            best_row = sc.ranked[0][0] if sc.ranked else -1
            second = sc.ranked[1][1] if len(sc.ranked) > 1 else 0.0
            loo = rec.score(photo, exclude={row}, memo=memo)
            got[key] = [_best(sc), second, float(best_row == row), _best(loo)]
            if verify and self.names:
                lo = self.absent.score(photo, exclude={row}, memo=memo)
                got["name"] = [_name(sc), _best(lo), _name(lo)]
        return got

    def real(self, p: Path) -> dict[str, float]:
        """An out-of-catalogue image's best score per kind (none when it cannot be read)."""
        try:
            img = load_rgb(p, min_side=DECODE_MIN_SIDE)
        except ImageError as e:
            log.warning("calibration: skipping %s", e)
            return {}
        memo = Memo()
        return {key: _best(self.recs[verify].score(img, memo=memo)) for key, verify in self.modes}


def _name(sc: Scored) -> float:
    return np.nan if sc.name is None else sc.name


def _choose(
    out: dict[str, Any], data: dict[str, dict[str, list[float]]], nd: dict[str, list[float]] | None
) -> None:
    """The thresholds of each kind from the scores collected, and the name bar (``nd``: its
    readings, None when the DB stores no name bars), into ``out``."""
    for key in data:
        d = data[key]
        # never accept fewer than 8 geometrically consistent art matches, whatever the sample says
        floor = 8.0 if key == "min_inliers" else -1.0
        sources = {"leave-one-out": np.array(d["loo"]), "real": np.array(d["real"])}
        ins, oks = np.array(d["in"]), np.array(d["ok"]) > 0
        res = choose_threshold_by_source(ins, oks, sources, floor=floor)
        if key == "min_inliers":  # whole inliers: the same bound, rounded up
            res = choose_threshold_by_source(ins, oks, sources, floor=float(np.ceil(res["threshold"])))
        out["thresholds"][key] = res["threshold"]
        out[key] = {**res, "ooc_photos": len(d["loo"]) + len(d["real"]), "in_photos": len(d["in"])}
    if nd is not None:
        d = data["min_inliers"]
        res = choose_name_bar(
            out["thresholds"]["min_inliers"],
            np.array(d["in"]),
            np.array(d["ok"]) > 0,
            np.array(nd["in"], np.float64),
            np.array(nd["absent"]),
            np.array(nd["absent_name"], np.float64),
        )
        out["thresholds"]["min_name"] = res["threshold"]
        out["min_name"] = res
