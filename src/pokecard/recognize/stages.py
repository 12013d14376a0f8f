"""The stages of a search (:meth:`Recognizer.stages`), in the order they run; each returns
an answer that ends the search, or records what it found on the :class:`Look` and returns None.
A new stage is a function ``(Searcher, Look) -> Scored | None``."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from pokecard.detect import detect_all, detect_fast, fallback
from pokecard.recognize.look import Look, Scored, Searcher, best_of, ms_since
from pokecard.recognize.policy import EMBED_FIRST_SHARE, FAST_COSINE_SHARE, MAX_REGIONS

Stage = Callable[[Searcher, Look], "Scored | None"]


def stage_fast_detect(rec: Searcher, look: Look) -> Scored | None:
    """The cheap first look at the photo (detect_fast): a quad, never an answer by itself."""
    t0 = time.perf_counter()
    look.quick = detect_fast(look.rgb)
    look.timings["detect"] += ms_since(t0)
    return None


def stage_embedding_first(rec: Searcher, look: Look) -> Scored | None:
    """The fast quad's embedding answers with no verification when decisive (EMBED_FIRST_SHARE)."""
    if look.quick is None:
        return None
    emb, te, ts = rec.embed_rows(look.quick.crop, rec.embed_k, look.exclude)
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
    sc = rec.score_region(look.quick, look.exclude, look.quick_emb)
    look.add(sc.timings)
    if rec.decisive(sc, share=FAST_COSINE_SHARE):
        sc.quad_found = True
        return sc
    look.keep(sc)
    return None


def stage_regions(rec: Searcher, look: Look) -> Scored | None:
    """Up to MAX_REGIONS card-like quads of the full detector (other than the fast look's), or
    the whole frame when there is none; a decisive region ends the search with the best one."""
    t0 = time.perf_counter()
    dets = detect_all(look.rgb, limit=MAX_REGIONS)
    look.regions_found = bool(dets and dets[0].found)
    if look.quick is not None:  # not the quad the fast look already scored
        tol = 0.01 * float(max(look.rgb.shape[:2]))
        dets = [d for d in dets if not (d.found and np.abs(d.corners - look.quick.corners).max() < tol)]
    look.timings["detect"] += ms_since(t0)
    for det in dets:
        sc = rec.score_region(det, look.exclude)
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
    det = fallback(look.rgb)
    look.timings["detect"] += ms_since(t0)
    sc = rec.score_region(det, look.exclude)
    look.add(sc.timings)
    look.keep(sc)
    return best_of(look) if rec.decisive(sc) else None
