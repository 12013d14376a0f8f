"""Find the card in a photo and rectify it to the canonical crop (352 x 252, portrait).

Classical and training-free, so it runs the same on a Pi and needs no model:

1. work on a copy whose long side is ``work_size`` px (speed; corners are scaled back);
2. several binarizations (Canny edges at two sensitivities, closed; Otsu threshold and its
   inverse) give candidate outer contours;
3. each contour -> convex hull -> ``approxPolyDP`` at growing tolerance until it has four
   vertices (rounded corners and sleeves give a rounded hull; the 4-vertex approximation
   still finds the sides);
4. a quad is kept when it is convex, covers ``min_area`` of the frame, fills its hull, and
   its side ratio is near 63:88 (perspective allowed);
5. corners are refined by fitting a line to the contour points along each side and
   intersecting neighbouring lines, which puts them where the straight edges meet, not on
   the rounded corner;
6. the best quad (area x aspect fit) is warped to the canonical crop; the short side is on
   top, which leaves a 180-degree ambiguity that the recognizer resolves.

When no quad passes, :func:`detect` returns the whole frame as the crop with a low
confidence (``found=False``); the recognizer then decides between a match and ``no_card``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from pokecard.card import CANONICAL_H, CANONICAL_W, CARD_ASPECT

log = logging.getLogger(__name__)

FALLBACK_CONFIDENCE = 0.2


@dataclass
class Detection:
    """Where the card is: ``corners`` (x, y) TL, TR, BR, BL in the photo, or the frame when not found."""

    corners: np.ndarray  # float32 [4, 2]
    crop: np.ndarray  # uint8 [CANONICAL_H, CANONICAL_W, 3]; the (resized) whole frame when not found
    found: bool
    confidence: float
    blank: bool = False  # nothing but a flat surface (no texture at all)


def order_corners(pts: np.ndarray) -> np.ndarray:
    """Order 4 points TL, TR, BR, BL (clockwise from top-left, image coordinates)."""
    pts = np.asarray(pts, dtype=np.float32).reshape(4, 2)
    c = pts.mean(axis=0)
    ang = np.arctan2(pts[:, 1] - c[1], pts[:, 0] - c[0])
    pts = pts[np.argsort(ang)]  # clockwise on screen (y down) starting near -pi (left)
    # start at the point with the smallest x + y (top-left)
    start = int(np.argmin(pts.sum(axis=1)))
    return np.roll(pts, -start, axis=0)


def portrait_corners(pts: np.ndarray) -> np.ndarray:
    """Ordered corners rotated so TL->TR is a short side (the card's top or bottom edge)."""
    p = order_corners(pts)
    top = np.linalg.norm(p[1] - p[0]) + np.linalg.norm(p[2] - p[3])
    side = np.linalg.norm(p[3] - p[0]) + np.linalg.norm(p[2] - p[1])
    if top > side:  # landscape in the photo: make the left side the top
        p = np.roll(p, 1, axis=0)
    return p


def warp(
    img: np.ndarray, corners: np.ndarray, size_hw: tuple[int, int] = (CANONICAL_H, CANONICAL_W)
) -> np.ndarray:
    """Perspective-warp the quad ``corners`` (TL, TR, BR, BL) to an upright ``size_hw`` crop."""
    import cv2

    h, w = size_hw
    dst = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(np.asarray(corners, dtype=np.float32), dst)
    return cv2.warpPerspective(img, m, (w, h), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)


def _quad_aspect(q: np.ndarray) -> float:
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


def _refine(quad: np.ndarray, contour: np.ndarray) -> np.ndarray:
    """Fit a line to the contour points near each side's middle; corners = line intersections."""
    import cv2

    pts = contour.reshape(-1, 2).astype(np.float32)
    lines = []
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        ab = b - a
        L = float(np.linalg.norm(ab))
        if L < 8:
            return quad
        u = ab / L
        n = np.array([-u[1], u[0]], dtype=np.float32)
        rel = pts - a
        t = rel @ u
        d = np.abs(rel @ n)
        sel = pts[(t > 0.15 * L) & (t < 0.85 * L) & (d < max(3.0, 0.03 * L))]
        if len(sel) < 5:
            return quad
        lines.append(cv2.fitLine(sel, cv2.DIST_HUBER, 0, 0.01, 0.01).reshape(4))
    out = []
    for i in range(4):
        p = _line_intersection(lines[i - 1], lines[i])
        if p is None:
            return quad
        out.append(p)
    out = np.array(out, dtype=np.float32)
    # a refinement that moves a corner far (bad fit) is ignored
    if np.max(np.linalg.norm(out - quad, axis=1)) > 0.08 * np.linalg.norm(quad[2] - quad[0]):
        return quad
    return out


def _candidates(rgb: np.ndarray) -> list[np.ndarray]:
    import cv2

    k = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
    lab = cv2.cvtColor(cv2.GaussianBlur(rgb, (5, 5), 0), cv2.COLOR_RGB2LAB)
    gray = lab[..., 0]
    masks = []
    # colour edges catch a silver border on a pale table that grey edges miss
    edges = [cv2.Canny(lab[..., i], lo, hi) for i, (lo, hi) in enumerate(((30, 90), (12, 36), (12, 36)))]
    masks.append(
        cv2.morphologyEx(
            cv2.bitwise_or(cv2.bitwise_or(*edges[:2]), edges[2]), cv2.MORPH_CLOSE, k, iterations=2
        )
    )
    med = float(np.median(gray))
    e = cv2.Canny(gray, max(5.0, 0.33 * med), max(20.0, min(255.0, 0.8 * med + 20)))
    masks.append(cv2.morphologyEx(e, cv2.MORPH_CLOSE, k, iterations=2))
    e = cv2.Canny(gray, 8, 24)  # faint edges: a pale card on a pale table, glare
    masks.append(cv2.morphologyEx(e, cv2.MORPH_CLOSE, k, iterations=2))
    _, otsu = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    masks += [otsu, 255 - otsu]
    contours = []
    for m in masks:
        cs, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        contours += list(cs)
    return contours


@dataclass
class DetectConfig:
    work_size: int = 640
    min_area: float = 0.06  # share of the frame
    aspect_tol: float = 0.22  # |short/long - 63/88| allowed (perspective)
    min_fill: float = 0.7  # contour area / quad area


def find_cards(
    img: np.ndarray, cfg: DetectConfig | None = None, limit: int = 3
) -> list[tuple[np.ndarray, float]]:
    """Card-like quads, best first: [(corners TL, TR, BR, BL in photo pixels, confidence)]."""
    import cv2

    cfg = cfg or DetectConfig()
    h, w = img.shape[:2]
    s = min(1.0, cfg.work_size / max(h, w))
    small = (
        cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
        if s < 1
        else img
    )
    sh, sw = small.shape[:2]
    frame = float(sh * sw)
    found: list[tuple[float, np.ndarray]] = []
    for c in _candidates(small):
        area = cv2.contourArea(c)
        if area < cfg.min_area * frame:
            continue
        hull = cv2.convexHull(c)
        peri = cv2.arcLength(hull, True)
        quad = None
        for eps in (0.01, 0.02, 0.03, 0.045, 0.06, 0.08):
            ap = cv2.approxPolyDP(hull, eps * peri, True)
            if len(ap) == 4:
                quad = ap.reshape(4, 2).astype(np.float32)
                break
            if len(ap) < 4:
                break
        if quad is None or not cv2.isContourConvex(quad.reshape(-1, 1, 2).astype(np.int32)):
            continue
        qarea = cv2.contourArea(quad)
        if qarea <= 0 or area / qarea < cfg.min_fill or cv2.contourArea(hull) / qarea > 1.15:
            continue
        quad = order_corners(quad)
        aspect = _quad_aspect(quad)
        err = abs(aspect - CARD_ASPECT)
        if err > cfg.aspect_tol:
            continue
        # the whole frame's border is not a card (a photo that is all card is handled by the fallback)
        touching = np.sum((quad[:, 0] < 2) | (quad[:, 0] > sw - 3) | (quad[:, 1] < 2) | (quad[:, 1] > sh - 3))
        if touching >= 3:
            continue
        score = (qarea / frame) * (1.0 - err / cfg.aspect_tol * 0.5)
        found.append((score, _refine(quad, c)))
    found.sort(key=lambda t: -t[0])
    out: list[tuple[float, np.ndarray]] = []
    for score, q in found:  # drop near-duplicates (the same card seen by several binarizations)
        if all(np.abs(q - o).max() > 0.05 * max(sh, sw) for _, o in out):
            out.append((score, q))
        if len(out) == limit:
            break
    return [(portrait_corners(q / s), float(min(1.0, 0.5 + sc))) for sc, q in out]


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


def detect(img: np.ndarray, cfg: DetectConfig | None = None) -> Detection:
    """Find and rectify the card; fall back to the whole frame (low confidence) when no quad is found."""
    return detect_all(img, cfg, limit=1)[0]


def fallback(img: np.ndarray, max_side: int = 640) -> Detection:
    """The whole frame as the query (aspect kept, long side ``max_side``), low confidence."""
    import cv2

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


def corner_error(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean corner distance (px), the better of the two 180-degree orderings, over card height."""
    pred, truth = np.asarray(pred, np.float32), np.asarray(truth, np.float32)
    d0 = np.linalg.norm(pred - truth, axis=1).mean()
    d1 = np.linalg.norm(np.roll(pred, 2, axis=0) - truth, axis=1).mean()
    height = (np.linalg.norm(truth[3] - truth[0]) + np.linalg.norm(truth[2] - truth[1])) / 2
    return float(min(d0, d1) / max(height, 1e-6))
