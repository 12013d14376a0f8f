"""The stages of a search (:meth:`Recognizer.stages`), in the order they run; each returns
an answer that ends the search, or records what it found on the :class:`Look` and returns None.
A new stage is a function ``(Searcher, Look) -> Scored | None``."""

from __future__ import annotations

import time
from collections.abc import Callable

import cv2
import numpy as np

from pokecard import namebar
from pokecard.card import CANONICAL_CORNERS
from pokecard.detect import Detection, detect_all, detect_fast, fallback
from pokecard.detect.geometry import warp
from pokecard.recognize.look import Look, Scored, Searcher, best_of, ms_since
from pokecard.recognize.policy import EMBED_FIRST_SHARE, FAST_COSINE_SHARE, MAX_REGIONS, REFIT_MIN_SCORE

Stage = Callable[[Searcher, Look], "Scored | None"]


def stage_fast_detect(rec: Searcher, look: Look) -> Scored | None:
    """The cheap first look at the photo (detect_fast): a quad, never an answer by itself."""
    t0 = time.perf_counter()
    look.quick = look.memo.get("fast", lambda: detect_fast(look.rgb))
    look.timings["detect"] += ms_since(t0)
    return None


def stage_embedding_first(rec: Searcher, look: Look) -> Scored | None:
    """The fast quad's embedding answers with no verification when decisive (EMBED_FIRST_SHARE)."""
    if look.quick is None:
        return None
    emb, te, ts = rec.embed_rows(look.quick.crop, rec.embed_k, look.exclude, look.memo.region(look.quick))
    look.add({"embed": te, "search": ts})
    look.quick_emb = emb
    first = Scored(look.quick, emb[: rec.policy.top_k], False)
    if rec.decisive(first, share=EMBED_FIRST_SHARE):
        first.quad_found = True
        return first
    return None


def stage_fast_look(rec: Searcher, look: Look) -> Scored | None:
    """The fast quad scored in full; kept only when decisive (FAST_COSINE_SHARE for a cosine)."""
    if look.quick is None:
        return None
    sc = rec.score_region(look.quick, look.exclude, look.quick_emb, look.memo)
    look.add(sc.timings)
    if rec.decisive(sc, share=FAST_COSINE_SHARE):
        sc.quad_found = True
        return sc
    look.keep(sc)
    return None


def refit_corners(look: Look) -> np.ndarray | None:
    """Where the fast look's best card lies in the photo, by its verified homography: the card's
    outline when the fast quad was another outline around or inside it (a sleeve, the card with
    its neighbours, its printed border); None when there is no such match (REFIT_MIN_SCORE), the
    outline is the fast quad's own, or it is not a card in the frame."""
    sc, quick = look.best, look.quick
    if quick is None or sc is None or not sc.verified or sc.H is None or not sc.ranked:
        return None
    if sc.ranked[0][1] < REFIT_MIN_SCORE:
        return None
    card = np.array(CANONICAL_CORNERS, np.float32).reshape(-1, 1, 2)
    H = namebar.to_photo(sc.detection.corners, sc.detection.crop.shape[:2], sc.H)
    c = cv2.perspectiveTransform(card, H).reshape(-1, 2).astype(np.float32)
    h, w = look.rgb.shape[:2]
    if not np.all(np.isfinite(c)) or not cv2.isContourConvex(c.reshape(-1, 1, 2)):
        return None
    inside = (c[:, 0] > -0.05 * w) & (c[:, 0] < 1.05 * w) & (c[:, 1] > -0.05 * h) & (c[:, 1] < 1.05 * h)
    if not inside.all() or cv2.contourArea(c) < 0.02 * h * w:
        return None
    if np.abs(c - quick.corners).max() < 0.01 * max(h, w):
        return None  # the fast quad already was the card's outline
    return np.clip(c, 0, [w - 1, h - 1]).astype(np.float32)


def stage_refit(rec: Searcher, look: Look) -> Scored | None:
    """The card's own outline, placed by the fast look's best match (:func:`refit_corners`),
    scored like a region: a card seen through a wrong fast quad ends here at the cost of one
    region, not the full detector's (docs/scale.md, "Sixth round")."""
    t0 = time.perf_counter()
    corners = refit_corners(look)
    if corners is None:
        look.timings["detect"] += ms_since(t0)
        return None
    crop = look.memo.get(("warp", corners.tobytes()), lambda: warp(look.rgb, corners))
    det = Detection(corners=corners, crop=crop, found=True, confidence=0.5)
    look.timings["detect"] += ms_since(t0)
    look.refit = det
    sc = rec.score_region(det, look.exclude, memo=look.memo)
    look.add(sc.timings)
    if rec.decisive(sc):
        sc.quad_found = True
        return sc
    look.keep(sc)
    return None


def stage_regions(rec: Searcher, look: Look) -> Scored | None:
    """Up to MAX_REGIONS card-like quads of the full detector (other than the fast look's), or
    the whole frame when there is none; a decisive region ends the search with the best one."""
    t0 = time.perf_counter()
    dets = look.memo.get(("all", MAX_REGIONS), lambda: detect_all(look.rgb, limit=MAX_REGIONS))
    look.regions_found = bool(dets and dets[0].found)
    tol = 0.01 * float(max(look.rgb.shape[:2]))
    for seen in (look.quick, look.refit):  # not a quad an earlier stage already scored
        if seen is not None:
            dets = [d for d in dets if not (d.found and np.abs(d.corners - seen.corners).max() < tol)]
    look.timings["detect"] += ms_since(t0)
    for det in dets:
        sc = rec.score_region(det, look.exclude, memo=look.memo)
        look.add(sc.timings)
        look.keep(sc)
        if rec.decisive(sc):
            return best_of(look)
    return None


def stage_whole_frame(rec: Searcher, look: Look) -> Scored | None:
    """The last resort when no quad was decisive: the whole frame, verified."""
    if not (look.regions_found and rec.policy.verify):
        return None
    t0 = time.perf_counter()
    det = look.memo.get("frame", lambda: fallback(look.rgb))
    look.timings["detect"] += ms_since(t0)
    sc = rec.score_region(det, look.exclude, memo=look.memo)
    look.add(sc.timings)
    look.keep(sc)
    return best_of(look) if rec.decisive(sc) else None
