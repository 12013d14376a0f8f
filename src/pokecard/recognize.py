"""Photo -> card: decode, detect + rectify, describe, shortlist, verify, decide.

Which mode a user gets (see docs/recognizer.md):

* reference DB built with a model (``embedding``): the ONNX embedding of the rectified crop
  (the crop as warped, and turned 180 degrees when that is not decisive) searched in usearch
  gives the shortlist, together with the
  ORB descriptor votes; RANSAC verification re-ranks it and decides ``unknown``.
* reference DB built without a model (``training-free``): ORB descriptor votes (LSH over
  every reference descriptor) give the shortlist; RANSAC verification as above.
* ``verify=False``: embedding only (the fast path): top cosine similarity, ``unknown``
  below the calibrated score threshold.

Result (DESIGN.md section 4): ``file, status, card, score, margin, top_k, timings_ms, error``.
``score`` is the count of RANSAC inliers on distinctive (non-template) reference keypoints
when verification ran, else the cosine similarity;
``margin`` is best minus second-best distinct card on the same scale.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pokecard import layout
from pokecard.detect import Detection, detect_all, detect_fast, fallback
from pokecard.embed import create_embedder
from pokecard.errors import ImageError, PokecardError, ReferenceDBError
from pokecard.features import LayoutDescriptor, orb_features
from pokecard.imageio import load_rgb
from pokecard.model_files import resolve_model
from pokecard.reference.db import ReferenceDB
from pokecard.store import open_store

log = logging.getLogger(__name__)

STAGES = ("decode", "detect", "embed", "search", "verify", "total")
SHORTLISTS = ("auto", "embedding", "votes", "both")
# Regions of a photo (up to two card-like quads, then the whole frame) are scored in turn;
# the first whose best card reaches STOP_FACTOR x the unknown threshold (and beats the second
# card) ends the search. See docs/recognizer.md, "Speed".
STOP_FACTOR = 2.0
# The cheap first look (pokecard.detect.detect_fast: one binarization, no edge snapping) is
# kept only when decisive; a cosine must then reach the threshold plus this share of what
# is left up to 1 (the same idea as STOP_FACTOR: a margin above the calibrated threshold).
FAST_COSINE_SHARE = 0.5
# --embed-first: the embedding answers without verification only from a cosine this share of
# the way from the calibrated threshold to 1 (stricter than the fast look's bar: wrong quads on
# a card back or a sleeve's edge reached 0.891 on the bench's photos; docs/recognizer.md).
EMBED_FIRST_SHARE = 0.6
# A large JPEG (a 12 MP phone photo) is decoded at a reduced scale that keeps at least this many
# pixels on its short side: a card across a third of it still fills the 352 x 252 crop.
DECODE_MIN_SIDE = 1024
# The 180-degree ambiguity of the warp: "sequential" (default) embeds the crop as warped and
# the turned crop only when the first is not decisive; "both" embeds the two in one batch.
# With the 218-card student, sequential halved the embed time at the same top-1 and unknown
# rejection (docs/recognizer.md, "Embedding modes").
ORIENTATIONS = ("sequential", "both")


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000.0


def _beats(ranked: list[tuple[int, float]], bar: float) -> bool:
    """The best card reaches ``bar`` and is ahead of the second one (0 when there is none)."""
    if not ranked:
        return False
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    return ranked[0][1] >= bar and ranked[0][1] > second


@dataclass
class Scored:
    """Raw scoring of one photo before the ok/unknown decision."""

    detection: Detection
    ranked: list[tuple[int, float]]  # (row, score) best first, distinct cards
    verified: bool
    timings: dict[str, float] = field(default_factory=dict)
    quad_found: bool = False  # any card-like quad in the frame (not only the one that scored best)


class Recognizer:
    """Recognize cards against the reference DB under a project root."""

    def __init__(
        self,
        root_or_store: Any,
        *,
        backend: str = "auto",
        threads: int | None = None,
        top_k: int = 5,
        verify: bool | None = None,
        shortlist: str = "auto",
        max_candidates: int = 2,
        stop_factor: float = STOP_FACTOR,
        orientations: str = "sequential",
        fast_first: bool | None = None,
        embed_first: bool | None = None,
    ) -> None:
        import cv2

        if threads:
            cv2.setNumThreads(int(threads))
        if shortlist not in SHORTLISTS:
            raise ReferenceDBError(
                f"unknown shortlist source {shortlist!r}: use one of {', '.join(SHORTLISTS)}"
            )
        self.store = open_store(root_or_store)
        self.top_k = max(1, int(top_k))
        self.max_candidates = max(1, int(max_candidates))
        self.stop_factor = float(stop_factor)
        if orientations not in ORIENTATIONS:
            raise ReferenceDBError(
                f"unknown orientations {orientations!r}: use one of {', '.join(ORIENTATIONS)}"
            )
        self.orientations = orientations
        st = self.store
        if not st.exists(layout.REFERENCE_MANIFEST):
            raise ReferenceDBError(
                f"{st.url}{layout.REFERENCE}: no reference DB here; run `pokecard index build --root {st.url}` first"
            )
        man = st.get_json(layout.REFERENCE_MANIFEST)
        self.embedder: Any
        if man.get("mode") == "embedding":
            m = man.get("model") or {}
            where = m.get("key") or m.get("path")
            try:
                resolved = resolve_model(st, where)
            except PokecardError as e:
                raise ReferenceDBError(
                    f"{st.url}{layout.REFERENCE} was built by model {where}, which is not available ({e}); "
                    "restore it or rebuild with `pokecard index build`"
                ) from e
            self.embedder = create_embedder(resolved.path, backend=backend, threads=threads)
        else:
            self.embedder = LayoutDescriptor()
        self.db = ReferenceDB.load(st, embedder=self.embedder)
        self.features = self.db.keypoints.config
        self.verify = True if verify is None else bool(verify)
        if shortlist == "auto":
            shortlist = "both" if self.db.mode == "embedding" else "votes"
        self.shortlist = shortlist
        self.thresholds = self.db.manifest.thresholds
        if self.verify:
            self.db.keypoints.prepare()  # build the LSH index now, not inside the first photo's timing
        # A cheap first look (detect_fast) whose match is kept only when decisive. Not by
        # default for the layout descriptor alone: its cosines almost never clear the fast
        # bar, so every photo paid for both searches (bench: 37 -> 52 ms p50).
        if fast_first is None:
            fast_first = self.verify or self.db.mode == "embedding"
        self.fast_first = bool(fast_first)
        # Verified modes with a model: the fast look's embedding alone may decide (a cosine
        # EMBED_FIRST_SHARE of the way from its calibrated threshold to 1, ahead of the second
        # card), before any ORB or RANSAC; anything less decisive is verified as before. By
        # default only when the DB's cosine threshold was calibrated: an uncalibrated one says
        # nothing about how high a wrong card's cosine can go.
        calibrated = (self.db.manifest.data.get("calibration") or {}).get("method", "default") != "default"
        if embed_first is None:
            embed_first = calibrated
        self.embed_first = bool(embed_first) and self.verify and self.db.mode == "embedding"
        # Calibration: no early stop anywhere (both orientations, every region), so a photo's
        # score does not depend on the thresholds being calibrated; see calibrate_reference.
        self.exhaustive = False

    @property
    def mode(self) -> str:
        if not self.verify:
            return f"{self.db.mode} only"
        src = {"votes": "descriptor votes", "embedding": "embedding", "both": "embedding + descriptor votes"}[
            self.shortlist
        ]
        first = "embedding first (verified when not decisive), " if self.embed_first else ""
        return f"{first}{src} shortlist + verification"

    # -- scoring -------------------------------------------------------------------
    @property
    def _embed_k(self) -> int:
        """How many embedding neighbours a region asks for: the answer's top-k and the
        verification shortlist."""
        return max(self.top_k, self.features.shortlist)

    def _embed_rows(
        self, crop: np.ndarray, k: int, exclude: set[int] | None
    ) -> tuple[list[tuple[int, float]], float, float]:
        """Embedding top-``k`` (row, cosine) of the crop in both 180-degree orientations.

        ``orientations="sequential"``: the crop as warped first; the turned crop only when
        that is not decisive (best cosine under the threshold or not ahead of the second)."""
        views = [crop, np.ascontiguousarray(crop[::-1, ::-1])]
        best: dict[int, float] = {}
        t_embed = t_search = 0.0
        for batch in [views] if self.orientations == "both" else [views[:1], views[1:]]:
            t0 = time.perf_counter()
            v = self.embedder.embed(batch)
            t_embed += _ms(t0)
            t0 = time.perf_counter()
            rows, scores = self.db.search(v, k, exclude=exclude)
            for r, s in zip(rows.reshape(-1), scores.reshape(-1), strict=True):
                if r >= 0 and s > best.get(int(r), -np.inf):
                    best[int(r)] = float(s)
            t_search += _ms(t0)
            ranked = sorted(best.items(), key=lambda t: -t[1])[:k]
            if (
                not self.exhaustive
                and ranked
                and ranked[0][1] >= self._threshold(False)
                and (len(ranked) < 2 or ranked[0][1] > ranked[1][1])
            ):
                break
        return ranked, t_embed, t_search

    def _score_one(
        self,
        det: Detection,
        exclude: set[int] | None,
        emb_ranked: list[tuple[int, float]] | None = None,
    ) -> Scored:
        """Score one region (``emb_ranked``: its embedding top-k, when already computed)."""
        tm = {"embed": 0.0, "search": 0.0, "verify": 0.0}
        if emb_ranked is None:
            emb_ranked = []
            if not self.verify or self.shortlist in ("embedding", "both"):
                emb_ranked, te, ts = self._embed_rows(det.crop, self._embed_k, exclude)
                tm["embed"] += te
                tm["search"] += ts
        if not self.verify:
            return Scored(det, emb_ranked[: self.top_k], False, tm)
        t0 = time.perf_counter()
        nfeat = self.features.query_features * (1 if det.found else 2)
        xy, desc = orb_features(det.crop, nfeat, self.features.fast_threshold)
        tm["embed"] += _ms(t0)
        n = self.features.shortlist
        rows: list[int] = []
        if self.shortlist in ("embedding", "both"):
            rows += [r for r, _ in emb_ranked[:n]]
        if self.shortlist in ("votes", "both"):
            t0 = time.perf_counter()
            votes = self.db.keypoints.votes(desc, exclude)
            top = np.argsort(-votes)[: max(n, self.top_k)]
            rows += [int(r) for r in top if votes[r] > 0 and int(r) not in rows][:n]
            tm["search"] += _ms(t0)
        t0 = time.perf_counter()
        ver = self.db.keypoints.verify(xy, desc, rows, query_hw=det.crop.shape[:2])
        tm["verify"] += _ms(t0)
        ranked = sorted(((v.row, float(v.score(self.features.score))) for v in ver), key=lambda t: -t[1])
        return Scored(det, ranked[: self.top_k], True, tm)

    def score(self, rgb: np.ndarray, exclude: set[int] | None = None) -> Scored:
        """Detect, describe, shortlist and verify; try up to ``max_candidates`` card-like quads."""
        best: Scored | None = None
        totals = {"embed": 0.0, "search": 0.0, "verify": 0.0}
        quick: Detection | None = None
        t_detect = 0.0
        if self.fast_first:
            # the cheap look first: most photos are decided by it; the others pay for both
            t0 = time.perf_counter()
            quick = detect_fast(rgb)
            t_detect += _ms(t0)
            emb: list[tuple[int, float]] | None = None
            if quick is not None and self.embed_first:
                emb, te, ts = self._embed_rows(quick.crop, self._embed_k, exclude)
                totals["embed"] += te
                totals["search"] += ts
                first = Scored(quick, emb[: self.top_k], False)
                if self._decisive(first, share=EMBED_FIRST_SHARE):
                    first.timings = {"detect": t_detect, **totals}
                    first.quad_found = True
                    return first
            if quick is not None:
                sc = self._score_one(quick, exclude, emb)
                for key in totals:
                    totals[key] += sc.timings.get(key, 0.0)
                if self._decisive(sc, share=FAST_COSINE_SHARE):
                    sc.timings = {"detect": t_detect, **totals}
                    sc.quad_found = True
                    return sc
                best = sc
        t0 = time.perf_counter()
        dets = detect_all(rgb, limit=self.max_candidates)
        if dets[0].found and self.verify:
            dets.append(fallback(rgb))  # last resort when no quad verifies: the whole frame
        if quick is not None:  # not the quad the cheap look already scored
            tol = 0.01 * float(max(rgb.shape[:2]))
            dets = [d for d in dets if not (d.found and np.abs(d.corners - quick.corners).max() < tol)]
        t_detect += _ms(t0)
        for det in dets:
            sc = self._score_one(det, exclude)
            for key in totals:
                totals[key] += sc.timings.get(key, 0.0)
            if best is None or (sc.ranked and (not best.ranked or sc.ranked[0][1] > best.ranked[0][1])):
                best = sc
            # a decisive match on this region: no need to look at the others
            if self._decisive(sc):
                break
        assert best is not None
        best.timings = {"detect": t_detect, **totals}
        best.quad_found = quick is not None or bool(dets and dets[0].found)
        return best

    def _decisive(self, sc: Scored, share: float = 0.0) -> bool:
        """The best card beats the second one and reaches the threshold: ``stop_factor`` x the
        inlier threshold when verified; the cosine threshold itself otherwise (a cosine cannot
        reach twice a threshold of 0.5 or more, so every region would be embedded).

        ``share``: a cosine must get this share of the way from the threshold to a perfect
        match (the cheap first look's rougher quad: ``FAST_COSINE_SHARE``; an answer without
        verification: ``EMBED_FIRST_SHARE``); verified scores are judged as above."""
        if self.exhaustive:
            return False
        thr = self._threshold(sc.verified)
        return _beats(sc.ranked, thr * self.stop_factor if sc.verified else thr + share * (1.0 - thr))

    def _threshold(self, verified: bool) -> float:
        return float(self.thresholds["min_inliers"] if verified else self.thresholds["min_score"])

    # -- results -------------------------------------------------------------------
    def accepts(self, sc: Scored) -> bool:
        """Whether ``sc`` names a card (status ``ok``): its best score reaches the threshold of
        its kind (distinctive inliers when verified, cosine when the embedding decided) and
        beats the second card."""
        return _beats(sc.ranked, self._threshold(sc.verified))

    def _result(self, name: str, sc: Scored, t_decode: float, t_start: float) -> dict[str, Any]:
        ranked = sc.ranked
        best_row, best = ranked[0] if ranked else (None, 0.0)
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        if self.accepts(sc):
            status = "ok"
        elif sc.detection.blank or not sc.quad_found:
            status = "no_card"
        else:
            status = "unknown"
        card = None
        if status == "ok" and best_row is not None:
            c = self.db.cards[self.db.card_ids[best_row]]
            card = {k: c.get(k) for k in ("card_id", "name", "set_code", "number")}
        timings = {
            "decode": t_decode,
            **{k: sc.timings.get(k, 0.0) for k in ("detect", "embed", "search", "verify")},
        }
        timings["total"] = _ms(t_start)
        return {
            "file": name,
            "status": status,
            "card": card,
            "score": round(float(best), 4) if ranked else None,
            "margin": round(float(best - second), 4) if ranked else None,
            "top_k": [{"card_id": self.db.card_ids[r], "score": round(float(s), 4)} for r, s in ranked],
            "timings_ms": {k: round(v, 3) for k, v in timings.items()},
            "error": None,
        }

    def recognize_array(self, rgb: np.ndarray, name: str = "<array>") -> dict[str, Any]:
        t_start = time.perf_counter()
        rgb = np.asarray(rgb)
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3 or min(rgb.shape[:2]) < 16:
            return error_result(
                name,
                f"{name}: expected a uint8 RGB image [H, W, 3] of at least 16 x 16, got {rgb.dtype} {rgb.shape}",
            )
        return self._result(name, self.score(rgb), 0.0, t_start)

    def recognize_file(self, path: str | os.PathLike[str]) -> dict[str, Any]:
        name = str(path)
        t_start = time.perf_counter()
        try:
            rgb = load_rgb(path, min_side=DECODE_MIN_SIDE)
        except ImageError as e:
            return error_result(name, str(e), _ms(t_start))
        t_decode = _ms(t_start)
        if min(rgb.shape[:2]) < 16:
            return error_result(
                name,
                f"{name}: image is {rgb.shape[1]}x{rgb.shape[0]}, too small to hold a card",
                _ms(t_start),
            )
        return self._result(name, self.score(rgb), t_decode, t_start)


def error_result(name: str, message: str, total_ms: float = 0.0) -> dict[str, Any]:
    timings = dict.fromkeys(STAGES, 0.0)
    timings["decode"] = timings["total"] = round(total_ms, 3)
    return {
        "file": name,
        "status": "error",
        "card": None,
        "score": None,
        "margin": None,
        "top_k": [],
        "timings_ms": timings,
        "error": message,
    }
