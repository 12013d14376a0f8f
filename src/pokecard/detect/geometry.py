"""Quad geometry: corner order, the card's aspect, line intersections, the warp to the canonical crop."""

from __future__ import annotations

import logging

import cv2
import numpy as np

from pokecard.warp import warp as warp  # the one warp, re-exported where the detector looks

log = logging.getLogger(__name__)


def order_corners(pts: np.ndarray) -> np.ndarray:
    """Order 4 points TL, TR, BR, BL (clockwise from top-left, image coordinates)."""
    pts = np.asarray(pts, dtype=np.float32).reshape(4, 2)
    c = pts.mean(axis=0)
    ang = np.arctan2(pts[:, 1] - c[1], pts[:, 0] - c[0])
    pts = pts[np.argsort(ang)]  # clockwise on screen (y down) starting near -pi (left)
    # start at the point with the smallest x + y (top-left)
    start = int(np.argmin(pts.sum(axis=1)))
    return pts[(np.arange(4) + start) % 4]


def portrait_corners(pts: np.ndarray) -> np.ndarray:
    """Ordered corners rotated so TL->TR is a short side (the card's top or bottom edge)."""
    p = order_corners(pts)
    top = np.linalg.norm(p[1] - p[0]) + np.linalg.norm(p[2] - p[3])
    side = np.linalg.norm(p[3] - p[0]) + np.linalg.norm(p[2] - p[1])
    if top > side:  # landscape in the photo: make the left side the top
        p = np.roll(p, 1, axis=0)
    return p


def quad_aspect(q: np.ndarray) -> float:
    a = (np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[3])) / 2
    b = (np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1])) / 2
    lo, hi = min(a, b), max(a, b)
    return float(lo / hi) if hi > 0 else 0.0


def _line_intersection(l1: np.ndarray, l2: np.ndarray) -> np.ndarray | None:
    # each line: (vx, vy, x0, y0)
    (vx1, vy1, x1, y1), (vx2, vy2, x2, y2) = l1, l2
    den = vx1 * vy2 - vy1 * vx2
    if abs(den) < 1e-6:
        return None
    t = ((x2 - x1) * vy2 - (y2 - y1) * vx2) / den
    return np.array([x1 + t * vx1, y1 + t * vy1], dtype=np.float32)


def intersect_all(lines: list[np.ndarray]) -> np.ndarray | None:
    out = []
    for i in range(4):
        p = _line_intersection(lines[i - 1], lines[i])
        if p is None:
            return None
        out.append(p)
    return np.array(out, dtype=np.float32)


def shift(q: np.ndarray, d: float) -> np.ndarray | None:
    """The quad ``q`` (clockwise) with every side moved ``d`` px outward."""
    lines = []
    for i in range(4):
        a, b = q[i], q[(i + 1) % 4]
        u = (b - a) / (np.linalg.norm(b - a) + 1e-6)
        out = np.array([u[1], -u[0]], np.float32)  # left of a -> b on screen: outward
        lines.append(np.array([u[0], u[1], *(a + d * out)], np.float32))
    return intersect_all(lines)


def border_inset(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """How far inside each side of ``outer`` the nearest side of ``inner`` lies (mean of the two
    inner corners closest to that side's line), as shares of ``outer``'s longer side."""
    h = (
        max(
            np.linalg.norm(outer[3] - outer[0]) + np.linalg.norm(outer[2] - outer[1]),
            np.linalg.norm(outer[1] - outer[0]) + np.linalg.norm(outer[2] - outer[3]),
        )
        / 2
    )
    c = outer.mean(axis=0)
    d = []
    for i in range(4):
        a, b = outer[i], outer[(i + 1) % 4]
        u = (b - a) / (np.linalg.norm(b - a) + 1e-6)
        n = np.array([-u[1], u[0]], np.float32)
        if float((c - a) @ n) < 0:
            n = -n  # inward
        d.append(float(np.sort((inner - a) @ n)[:2].mean()))
    return np.array(d, np.float32) / float(h)


def nested(q: np.ndarray, outer: np.ndarray) -> bool:
    """``q`` is smaller than ``outer`` and its centre lies inside it."""
    c = q.mean(axis=0)
    inside = cv2.pointPolygonTest(outer.reshape(-1, 1, 2), (float(c[0]), float(c[1])), False) > 0
    return bool(inside and cv2.contourArea(q) < cv2.contourArea(outer))


def corner_error(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean corner distance (px), the better of the two 180-degree orderings, over card height."""
    pred, truth = np.asarray(pred, np.float32), np.asarray(truth, np.float32)
    d0 = np.linalg.norm(pred - truth, axis=1).mean()
    d1 = np.linalg.norm(np.roll(pred, 2, axis=0) - truth, axis=1).mean()
    height = (np.linalg.norm(truth[3] - truth[0]) + np.linalg.norm(truth[2] - truth[1])) / 2
    return float(min(d0, d1) / max(height, 1e-6))
