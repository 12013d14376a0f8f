"""Candidate quads: the working image, its binarizations, their outlines and the quads each outline gives."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from itertools import combinations

import cv2
import numpy as np

from pokecard.card import CARD_ASPECT
from pokecard.detect.config import DetectConfig
from pokecard.detect.edges import Line, fit_to_contour, outline_lines
from pokecard.detect.geometry import intersect_all, order_corners, warp

log = logging.getLogger(__name__)


def candidate_groups(ycc: np.ndarray) -> Iterator[list[np.ndarray]]:
    """Closed outlines of things in the frame, one list per binarization (one may miss a card
    that another finds), in the order they are tried: colour Canny, grey Canny at two
    sensitivities, Otsu and its inverse. Edge maps give their holes too (``RETR_LIST``): a
    card lying on another card or touching a paper has its own closed outline inside the
    merged blob."""
    k = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
    gray = ycc[..., 0]

    def outlines(m: np.ndarray) -> list[np.ndarray]:
        m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, k, iterations=2)
        return list(cv2.findContours(m, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)[0])

    # colour edges catch a silver border on a pale table that grey edges miss
    edges = [cv2.Canny(ycc[..., i], lo, hi) for i, (lo, hi) in enumerate(((30, 90), (12, 36), (12, 36)))]
    yield outlines(cv2.bitwise_or(cv2.bitwise_or(*edges[:2]), edges[2]))
    med = float(np.median(gray))
    yield outlines(cv2.Canny(gray, max(5.0, 0.33 * med), max(20.0, min(255.0, 0.8 * med + 20))))
    yield outlines(cv2.Canny(gray, 8, 24))  # faint edges: a pale card on a pale table, glare
    _, otsu = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    for m in (otsu, 255 - otsu):
        yield list(cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0])


def _candidates(ycc: np.ndarray) -> list[np.ndarray]:
    """Every binarization's outlines together (see :func:`candidate_groups`)."""
    return [c for group in candidate_groups(ycc) for c in group]


def quads_from_contour(
    c: np.ndarray, min_area: float, min_fill: float, max_quads: int = 12
) -> list[np.ndarray]:
    """Candidate quads for one outline.

    A card alone: its convex hull reduced to four vertices (``approxPolyDP`` at growing
    tolerance). A card touching something else (a box, a paper, a card under it): the hull is
    not a quad, but the outline still runs along the card's sides, so every four long straight
    pieces of the outline (in order) give a quad from their lines."""
    area = cv2.contourArea(c)
    if area < min_area:
        return []
    hull = cv2.convexHull(c)
    harea = cv2.contourArea(hull)
    peri = cv2.arcLength(hull, True)
    if area / harea >= min_fill * 0.9:
        for eps in (0.01, 0.02, 0.03, 0.045, 0.06, 0.08):
            ap = cv2.approxPolyDP(hull, eps * peri, True)
            if len(ap) == 4:
                quad = ap.reshape(4, 2).astype(np.float32)
                if not cv2.isContourConvex(quad.reshape(-1, 1, 2)):
                    break
                qarea = cv2.contourArea(quad)
                if qarea > 0 and area / qarea >= min_fill and harea / qarea <= 1.15:
                    return [order_corners(fit_to_contour(order_corners(quad), c))]
                break
            if len(ap) < 4:
                break
    # long straight pieces of the outline; pieces on one line (a side interrupted by what
    # touches it) are merged. A very ragged outline (texture) is not looked at: a card's
    # perimeter is 4 x sqrt(area); merged with its own print in an edge map, 10-20 x.
    arc = cv2.arcLength(c, True)
    if arc > 30 * np.sqrt(area):
        return []
    ap = cv2.approxPolyDP(c, 0.006 * arc + 1.0, True).reshape(-1, 2).astype(np.float32)
    if len(ap) < 4:
        return []
    min_side = 0.5 * float(np.sqrt(min_area * CARD_ASPECT))
    lines = outline_lines(ap, 0.25 * min_side)
    lines = [ln for ln in lines if ln.length >= min_side][:8]
    if len(lines) < 4:
        return []
    return _quads_of_lines(lines, min_area, max_quads)


def _quads_of_lines(lines: list[Line], min_area: float, max_quads: int) -> list[np.ndarray]:
    """Quads of four lines in two roughly parallel pairs (neighbours across), each side mostly
    covered by outline pieces (not a line stretched far beyond what was seen)."""
    out: list[np.ndarray] = []
    for four in combinations(lines, 4):
        for a, b, c, d in ((0, 1, 2, 3), (0, 2, 1, 3), (0, 3, 1, 2)):
            A, B, C, D = four[a], four[b], four[c], four[d]
            if (
                abs(A.ux * B.ux + A.uy * B.uy) < 0.8
                or abs(C.ux * D.ux + C.uy * D.uy) < 0.8
                or abs(A.ux * C.ux + A.uy * C.uy) > 0.5
            ):
                continue
            ls = [A, C, B, D]
            q = intersect_all([np.array([ln.ux, ln.uy, ln.px, ln.py], np.float32) for ln in ls])
            if q is None or not cv2.isContourConvex(q.reshape(-1, 1, 2)) or cv2.contourArea(q) < min_area:
                break
            if any(ln.length < 0.4 * float(np.hypot(*(q[(j + 1) % 4] - q[j]))) for j, ln in enumerate(ls)):
                break
            out.append(order_corners(q))
            if len(out) >= max_quads:
                return out
            break
    return out


def interior_flat(ycc: np.ndarray, quad: np.ndarray, white: float) -> bool:
    """A box, a phone or a sheet of paper: the inside of the quad is uniform, or mostly
    colourless paper white (``white``: the frame's bright level) with a little dark print (a
    card is printed edge to edge)."""
    small = warp(ycc, quad, (44, 32))[4:-4, 3:-3].reshape(-1, 3).astype(np.float32)
    L, chroma = small[:, 0], np.hypot(small[:, 1] - 128, small[:, 2] - 128)
    if float(np.std(L)) < 1.5 and float(np.std(chroma)) < 1.5:
        return True
    pale = (0.85 * white < L) & (chroma < 8)
    return bool(np.mean(pale) > 0.7)


def _downscale(img: np.ndarray, work_size: int) -> tuple[np.ndarray, float]:
    """The working copy: the photo shrunk by an integer factor (box filter: fast and clean) to a
    long side near ``work_size``, and the scale (working px per photo px)."""
    h, w = img.shape[:2]
    f = max(1, round(max(h, w) / work_size))
    if f == 1:
        return img, 1.0
    hh, ww = h // f * f, w // f * f  # crop < f px so the factor is exact
    small = cv2.resize(img[:hh, :ww], (ww // f, hh // f), interpolation=cv2.INTER_AREA)
    return small, 1.0 / f


def working(img: np.ndarray, cfg: DetectConfig) -> tuple[np.ndarray, float, float]:
    """The blurred working copy in YCrCb, its scale (working px per photo px) and the frame's
    bright level (98th percentile of Y: paper white)."""
    small, s = _downscale(img, cfg.work_size)
    ycc = cv2.cvtColor(cv2.GaussianBlur(small, (5, 5), 0), cv2.COLOR_RGB2YCrCb)
    return ycc, s, float(np.percentile(ycc[::4, ::4, 0], 98))


def frame_border(quad: np.ndarray, sh: int, sw: int) -> bool:
    """Three or more corners on the frame's edge: the photo's border, not a card (a photo that
    is all card is handled by the fallback)."""
    return bool(
        np.sum((quad[:, 0] < 2) | (quad[:, 0] > sw - 3) | (quad[:, 1] < 2) | (quad[:, 1] > sh - 3)) >= 3
    )
