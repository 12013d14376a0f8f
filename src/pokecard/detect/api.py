"""The detector's entry points: every card-like quad, the best one, the fast first look, the whole-frame fallback."""

from __future__ import annotations

import logging

import cv2
import numpy as np

from pokecard.card import CARD_ASPECT
from pokecard.detect.candidates import (
    candidate_groups,
    frame_border,
    interior_flat,
    quads_from_contour,
    working,
)
from pokecard.detect.config import FALLBACK_CONFIDENCE, DetectConfig, Detection
from pokecard.detect.geometry import nested, portrait_corners, quad_aspect, warp
from pokecard.detect.refine import card_inside, outer_card
from pokecard.detect.score import Scored, back_border, scored

log = logging.getLogger(__name__)


def find_cards(
    img: np.ndarray, cfg: DetectConfig | None = None, limit: int = 3
) -> list[tuple[np.ndarray, float]]:
    """Card-like quads, best first: [(corners TL, TR, BR, BL in photo pixels, confidence)]."""
    found, edges, s, (sh, sw), ycc = scored(img, cfg or DetectConfig())
    out: list[Scored] = []
    for f in found:
        # drop near-duplicates (the same card seen by several binarizations) and smaller quads
        # inside one already taken (its art window, text box or printed border)
        if all(
            np.abs(f.quad - o.quad).max() > 0.05 * max(sh, sw) and not nested(f.quad, o.quad) for o in out
        ):
            out.append(f)
        if len(out) == limit:
            break
    quads = [f.quad for f in out]
    if edges is not None:
        quads = [q if (c := card_inside(edges, q)) is None else c for q in quads]
        quads = [q if (c := outer_card(edges, ycc, q)) is None else c for q in quads]
    return [
        (portrait_corners(q / s), float(min(1.0, 0.5 + 0.5 * f.sup))) for f, q in zip(out, quads, strict=True)
    ]


def find_card(img: np.ndarray, cfg: DetectConfig | None = None) -> tuple[np.ndarray | None, float]:
    """Corners (TL, TR, BR, BL, photo pixels) of the most card-like quad and its confidence."""
    cands = find_cards(img, cfg, limit=1)
    return cands[0] if cands else (None, 0.0)


def detect_all(img: np.ndarray, cfg: DetectConfig | None = None, limit: int = 3) -> list[Detection]:
    """Every card-like quad (best first), or the whole-frame fallback when there is none."""
    cands = find_cards(img, cfg, limit=limit)
    if cands:
        return [
            Detection(corners=c.astype(np.float32), crop=warp(img, c), found=True, confidence=conf)
            for c, conf in cands
        ]
    return [fallback(img)]


def detect_fast(img: np.ndarray, cfg: DetectConfig | None = None) -> Detection | None:
    """The cheap first look (a few ms): the largest card-shaped outline of the first
    binarization (colour edges) that is not a blank sheet or a card back, with corners from
    the outline's fitted sides and no edge snapping; None when there is none.

    Less exact than :func:`detect_all` (it never looks at the other binarizations, and a card
    touching something may give no outline of its own), so the recognizer keeps its match only
    when that match is decisive and runs the whole search otherwise."""
    cfg = cfg or DetectConfig()
    ycc, s, white = working(img, cfg)
    sh, sw = ycc.shape[:2]
    frame = float(sh * sw)
    cand = [
        q
        for c in next(candidate_groups(ycc))
        if len(c) >= 4
        for q in quads_from_contour(c, cfg.min_area * frame, cfg.min_fill)
        if abs(quad_aspect(q) - CARD_ASPECT) <= cfg.aspect_tol and not frame_border(q, sh, sw)
    ]
    for q in sorted(cand, key=lambda q: -cv2.contourArea(q))[:3]:
        if interior_flat(ycc, q, white) or back_border(ycc, q):
            continue
        corners = portrait_corners(q / s).astype(np.float32)
        return Detection(corners=corners, crop=warp(img, corners), found=True, confidence=0.5)
    return None


def detect(img: np.ndarray, cfg: DetectConfig | None = None) -> Detection:
    """Find and rectify the card; fall back to the whole frame (low confidence) when no quad is found."""
    return detect_all(img, cfg, limit=1)[0]


def fallback(img: np.ndarray, max_side: int = 640) -> Detection:
    """The whole frame as the query (aspect kept, long side ``max_side``), low confidence."""
    h, w = img.shape[:2]
    frame = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], dtype=np.float32)
    s = min(1.0, max_side / max(h, w))
    crop = (
        cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
        if s < 1
        else img
    )
    g = cv2.cvtColor(cv2.resize(img, (64, 64), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)
    blank = float(np.std(cv2.Laplacian(g, cv2.CV_32F))) < 2.0 and float(np.std(g)) < 6.0
    return Detection(
        corners=frame,
        crop=np.ascontiguousarray(crop),
        found=False,
        confidence=FALLBACK_CONFIDENCE,
        blank=blank,
    )
