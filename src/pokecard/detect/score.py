"""Every candidate snapped to the edges, checked and scored; the best first."""

from __future__ import annotations

import logging
from dataclasses import dataclass

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
from pokecard.detect.config import DetectConfig
from pokecard.detect.edges import Edges
from pokecard.detect.geometry import order_corners, portrait_corners, quad_aspect, warp

log = logging.getLogger(__name__)


def back_border(ycc: np.ndarray, quad: np.ndarray) -> bool:
    """The quad's border band is strongly blue: the back of a Pokemon card (its border is dark
    blue; a card's face has a silver or yellow border). Backs lying around the card are ranked
    after it: they can never be recognized. (Measured on 100 eval scenes: card faces' border
    Cb 95-157, Cr 110-175 (1st-99th percentile); backs Cb 165-207, Cr 91-113.)"""
    w = warp(ycc, quad, (176, 128))
    ring = np.concatenate(
        [
            w[2:5, 8:-8].reshape(-1, 3),
            w[-5:-2, 8:-8].reshape(-1, 3),
            w[8:-8, 2:5].reshape(-1, 3),
            w[8:-8, -5:-2].reshape(-1, 3),
        ]
    )
    _, cr, cb = np.median(ring, axis=0)
    return bool(cb >= 163 and cr <= 118)


@dataclass
class Scored:
    score: float
    sup: float  # mean share of the sides on an edge
    sup_min: float  # the weakest side
    quad: np.ndarray  # TL, TR, BR, BL, working-image px


def _snap(
    edges: Edges, quad: np.ndarray, cfg: DetectConfig, diag: float
) -> tuple[np.ndarray | None, float, float, bool]:
    """The quad snapped to the colour edges: (quad, mean side support, weakest side, wide search)."""
    radius = max(2, round(cfg.snap_radius * diag))
    q, sup, sup_min = edges.snap(quad, cfg.near_snap_px)
    wide = q is None or sup + sup_min < cfg.wide_snap_below
    if wide:
        q3, sup3, sup_min3 = edges.snap(quad, radius, n=20)
        if q3 is not None and (q is None or sup3 + sup_min3 > sup + sup_min):
            q, sup, sup_min = q3, sup3, sup_min3
        else:
            wide = False
    return q, sup, sup_min, wide


def _score(
    q: np.ndarray, sup: float, sup_min: float, qarea: float, err: float, ycc: np.ndarray, cfg: DetectConfig
) -> float:
    """Support x area^0.5 x the penalties of DetectConfig (aspect, off-centre, tilt, card back)."""
    sh, sw = ycc.shape[:2]
    centre = np.abs(q.mean(axis=0) / np.array([sw, sh], np.float32) - 0.5).max()
    pc = portrait_corners(q)
    axis = (pc[2] + pc[3] - pc[0] - pc[1]) / 2  # top -> bottom of the card
    tilt = abs(float(axis[0])) / (float(np.linalg.norm(axis)) + 1e-6)  # |sin| of the angle to upright
    return (
        sup
        * sup_min
        * (qarea / float(sh * sw)) ** 0.5
        * (1.0 - cfg.aspect_weight * err / cfg.aspect_tol)
        * (1.0 - cfg.centre_weight * centre)
        * (1.0 - cfg.tilt_weight * tilt)
        * (cfg.back_penalty if back_border(ycc, q) else 1.0)
    )


class _Scorer:
    """One photo's candidates, snapped, checked and scored (``found``), without repeats."""

    def __init__(self, ycc: np.ndarray, white: float, cfg: DetectConfig) -> None:
        self.ycc, self.white, self.cfg = ycc, white, cfg
        self.edges: Edges | None = None
        self.seen: list[np.ndarray] = []
        self.found: list[Scored] = []

    def _new_outline(self, quad: np.ndarray, diag: float) -> bool:
        sh, sw = self.ycc.shape[:2]
        if abs(quad_aspect(quad) - CARD_ASPECT) > self.cfg.aspect_tol or frame_border(quad, sh, sw):
            return False
        if any(np.abs(quad - o).max() < 0.01 * diag + 1.0 for o in self.seen):
            return False  # the same outline from another binarization
        self.seen.append(quad)
        return True

    def add(self, quad: np.ndarray) -> None:
        cfg = self.cfg
        diag = float(np.linalg.norm(quad[2] - quad[0]))
        if not self._new_outline(quad, diag):
            return
        if self.edges is None:
            self.edges = Edges(self.ycc)
        q, sup, sup_min, wide = _snap(self.edges, quad, cfg, diag)
        if q is None or sup < 0.8 * cfg.min_support:
            return
        if any(np.abs(order_corners(q) - f.quad).max() < cfg.same_quad_px for f in self.found):
            return  # converged onto a quad already scored
        if wide:
            q2, sup2, sup_min2 = self.edges.snap(order_corners(q), cfg.settle_snap_px)
            if q2 is not None and sup2 >= sup:
                q, sup, sup_min = q2, sup2, sup_min2
        q = order_corners(q)
        if sup < cfg.min_support or np.max(np.linalg.norm(q - quad, axis=1)) > cfg.max_move * diag:
            return
        if not cv2.isContourConvex(q.reshape(-1, 1, 2)):
            return
        qarea = cv2.contourArea(q)
        err = abs(quad_aspect(q) - CARD_ASPECT)
        frame = float(self.ycc.shape[0] * self.ycc.shape[1])
        if err > cfg.aspect_tol or qarea < cfg.min_area * frame or interior_flat(self.ycc, q, self.white):
            return
        self.found.append(Scored(_score(q, sup, sup_min, qarea, err, self.ycc, cfg), sup, sup_min, q))


def scored(
    img: np.ndarray, cfg: DetectConfig
) -> tuple[list[Scored], Edges | None, float, tuple[int, int], np.ndarray]:
    """Every card-like quad with its score, best first; the edges, the scale, the working size
    and the working image (YCrCb) (for :func:`find_cards` and for inspection)."""
    ycc, s, white = working(img, cfg)
    sh, sw = ycc.shape[:2]
    frame = float(sh * sw)
    scorer = _Scorer(ycc, white, cfg)
    for group in candidate_groups(ycc):
        for c in group:
            if len(c) >= 4:
                for quad in quads_from_contour(c, cfg.min_area * frame, cfg.min_fill):
                    scorer.add(quad)
    scorer.found.sort(key=lambda f: -f.score)
    return scorer.found, scorer.edges, s, (sh, sw), ycc
