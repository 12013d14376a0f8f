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
   the rounded corner; then each side is snapped to the strongest colour edge across it
   (``_Edges.snap``), and a quad that is a sleeve or a toploader around a card gives way to
   the card inside it;
6. quads are scored (area x aspect fit x edge support); a flat interior (a blank sheet) or a
   blue border band (a card back, ``_back_border``) counts against a quad;
7. the best quad is warped to the canonical crop; the short side is on top, which leaves a
   180-degree ambiguity that the recognizer resolves.

:func:`detect_fast` is the cheap first look the recognizer tries before all of this: the
first binarization only, fitted sides, no edge snapping, card backs and blank sheets refused.

When no quad passes, :func:`detect` returns the whole frame as the crop with a low
confidence (``found=False``); the recognizer then decides between a match and ``no_card``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import combinations

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
    return pts[(np.arange(4) + start) % 4]


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


def _intersect_all(lines: list[np.ndarray]) -> np.ndarray | None:
    out = []
    for i in range(4):
        p = _line_intersection(lines[i - 1], lines[i])
        if p is None:
            return None
        out.append(p)
    return np.array(out, dtype=np.float32)


def _fit_to_contour(quad: np.ndarray, contour: np.ndarray) -> np.ndarray:
    """Fit a line to the contour points near each side's middle; corners = line intersections.

    This puts the corners where the straight edges meet, not on the rounded corner that the
    polygon approximation cut."""
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
    out = _intersect_all(lines)
    # a refinement that moves a corner far (bad fit) is ignored
    if out is None or np.max(np.linalg.norm(out - quad, axis=1)) > 0.08 * np.linalg.norm(quad[2] - quad[0]):
        return quad
    return out


_PAIRS: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _consensus(pts: np.ndarray, ok: np.ndarray, tol: float) -> np.ndarray:
    """Per side, the largest set of usable points (``ok``) within ``tol`` px of one line through
    two of them, as a mask [S, n]. Pairs a third of the side apart or more, at most 60 of them.
    Outliers (a finger, another card's edge, glare) do not tilt the line the way a
    least-squares fit lets them."""
    S, n = ok.shape
    if n not in _PAIRS:
        i, j = np.triu_indices(n, max(1, n // 3))
        if len(i) > 60:
            keep = np.linspace(0, len(i) - 1, 60).astype(int)
            i, j = i[keep], j[keep]
        _PAIRS[n] = (i, j)
    i, j = _PAIRS[n]
    d = pts[:, j] - pts[:, i]  # [S, P, 2]
    norm = np.linalg.norm(d, axis=2) + 1e-6
    nx, ny = -d[..., 1] / norm, d[..., 0] / norm
    rel = pts[:, None, :, :] - pts[:, i][:, :, None, :]  # [S, P, n, 2]
    inl = (np.abs(rel[..., 0] * nx[..., None] + rel[..., 1] * ny[..., None]) < tol) & ok[:, None, :]
    count = inl.sum(axis=2) * (ok[:, i] & ok[:, j])  # a pair through an unusable point counts 0
    best = np.argmax(count, axis=1)
    return inl[np.arange(S), best]


class _Edges:
    """Colour gradients of the working image, sampled along a quad's sides to put each side on
    the strongest edge near it (sub-pixel) and to say how much of the side an edge supports."""

    def __init__(self, ycc: np.ndarray) -> None:
        import cv2

        self.gx = cv2.Sobel(ycc, cv2.CV_16S, 1, 0, ksize=3)
        self.gy = cv2.Sobel(ycc, cv2.CV_16S, 0, 1, ksize=3)
        # noise floor: most of a photo is flat; a real edge is well above the median gradient
        gx, gy = self.gx[::4, ::4].astype(np.float32), self.gy[::4, ::4].astype(np.float32)
        self.floor = max(12.0, 3.0 * float(np.median(np.sqrt((gx**2 + gy**2).sum(axis=2)))))

    def sample(
        self, quad: np.ndarray, radius: int, n: int = 28, lo: float = 0.1, hi: float = 0.9
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Edge samples across every side of ``quad`` (all sides in one go).

        Returns (points [S, n, 2] along each side, normals [S, 2] (inward for a clockwise
        quad), gradient across the side [S, n, m, 3] per channel at offsets -r..r)."""
        import cv2

        a = np.asarray(quad, np.float32)
        ab = np.roll(a, -1, axis=0) - a
        u = ab / (np.linalg.norm(ab, axis=1, keepdims=True) + 1e-6)
        nrm = np.stack([-u[:, 1], u[:, 0]], axis=1)
        t = np.linspace(lo, hi, n, dtype=np.float32)
        p = a[:, None, :] + t[None, :, None] * ab[:, None, :]  # [S, n, 2]
        offs = np.arange(-radius, radius + 1, dtype=np.float32)
        mx = p[:, :, 0, None] + offs * nrm[:, None, None, 0]  # [S, n, m]
        my = p[:, :, 1, None] + offs * nrm[:, None, None, 1]
        S, m = len(a), len(offs)
        mx, my = mx.reshape(S * n, m).astype(np.float32), my.reshape(S * n, m).astype(np.float32)
        gx = cv2.remap(self.gx, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        gy = cv2.remap(self.gy, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        gx = gx.reshape(S, n, m, 3).astype(np.float32)
        gy = gy.reshape(S, n, m, 3).astype(np.float32)
        return p, nrm, gx * nrm[:, None, None, 0, None] + gy * nrm[:, None, None, 1, None]

    def profile(
        self, a: np.ndarray, b: np.ndarray, radius: int, n: int = 28
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One side a -> b: (points [n, 2], normal [2], edge strength [n, m] at offsets -r..r)."""
        p, nrm, proj = self.sample(np.stack([a, b]), radius, n)
        return p[0], nrm[0], np.sqrt((proj[0] ** 2).sum(axis=2))

    def snap(self, quad: np.ndarray, radius: int, n: int = 28) -> tuple[np.ndarray | None, float, float]:
        """Move each side onto the strongest edge within ``radius`` px, fit lines, intersect.

        Returns (quad or None, mean support, min support): support of a side is the share of
        its samples on the fitted line (within 1.5 px) with an edge above the noise floor and
        the side's colour step across it."""
        import cv2

        p, nrm, proj = self.sample(quad, radius, n)
        s = np.sqrt((proj**2).sum(axis=3))  # [4, n, m]
        m = s.shape[2]
        k = np.argmax(s, axis=2)
        v = np.take_along_axis(s, k[..., None], 2)[..., 0]
        y0 = np.take_along_axis(s, np.clip(k - 1, 0, m - 1)[..., None], 2)[..., 0]
        y2 = np.take_along_axis(s, np.clip(k + 1, 0, m - 1)[..., None], 2)[..., 0]
        inner = (k > 0) & (k < m - 1)
        den = y0 - 2 * v + y2
        sub = np.where(inner & (den < 0), 0.5 * (y0 - y2) / np.where(den < 0, den, -1), 0.0)
        off = k - radius + np.clip(sub, -0.5, 0.5)
        ok = inner & (v > self.floor)
        if (ok.sum(axis=1) < 6).any():
            return None, 0.0, 0.0
        pts = (p + off[..., None] * nrm[:, None, :]).astype(np.float32)  # [4, n, 2]
        good = _consensus(pts, ok, 1.5)
        if (good.sum(axis=1) < 3).any():
            return None, 0.0, 0.0  # a side whose edge points do not line up
        # one edge along the side has one colour step across it (the card's border against
        # what is beside it); unrelated edges that happen to line up (print inside another
        # card, texture) step in any direction
        vec = np.take_along_axis(proj, k[..., None, None], 2)[:, :, 0, :]  # [4, n, 3]
        lines, sup = [], []
        for i in range(4):
            g = good[i]
            lines.append(cv2.fitLine(pts[i][g], cv2.DIST_L2, 0, 0.01, 0.01).reshape(4))
            vg = vec[i][g]
            ref = np.median(vg, axis=0)
            cos = vg @ ref / (np.linalg.norm(vg, axis=1) * np.linalg.norm(ref) + 1e-6)
            sup.append(float(np.sum(cos > 0.3)) / n)
        out = _intersect_all(lines)
        if out is None:
            return None, 0.0, 0.0
        return out, float(np.mean(sup)), float(np.min(sup))


def _candidate_groups(ycc: np.ndarray) -> Iterator[list[np.ndarray]]:
    """Closed outlines of things in the frame, one list per binarization (one may miss a card
    that another finds), in the order they are tried: colour Canny, grey Canny at two
    sensitivities, Otsu and its inverse. Edge maps give their holes too (``RETR_LIST``): a
    card lying on another card or touching a paper has its own closed outline inside the
    merged blob."""
    import cv2

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
    """Every binarization's outlines together (see :func:`_candidate_groups`)."""
    return [c for group in _candidate_groups(ycc) for c in group]


@dataclass
class DetectConfig:
    work_size: int = 512
    min_area: float = 0.04  # share of the frame
    aspect_tol: float = 0.2  # |short/long - 63/88| allowed (perspective)
    min_fill: float = 0.7  # contour area / quad area
    min_support: float = 0.45  # mean share of the four sides on an edge
    snap_radius: float = 0.018  # edge search across each side, share of the quad's diagonal


def _quads_from_contour(
    c: np.ndarray, min_area: float, min_fill: float, max_quads: int = 12
) -> list[np.ndarray]:
    """Candidate quads for one outline.

    A card alone: its convex hull reduced to four vertices (``approxPolyDP`` at growing
    tolerance). A card touching something else (a box, a paper, a card under it): the hull is
    not a quad, but the outline still runs along the card's sides, so every four long straight
    pieces of the outline (in order) give a quad from their lines."""
    import cv2

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
                    return [order_corners(_fit_to_contour(order_corners(quad), c))]
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
    lines = _outline_lines(ap, 0.25 * min_side)
    lines = [ln for ln in lines if ln.length >= min_side][:8]
    if len(lines) < 4:
        return []
    return _quads_of_lines(lines, min_area, max_quads)


@dataclass
class _Line:
    ux: float  # unit direction
    uy: float
    px: float  # a point on the line
    py: float
    length: float  # summed length of the outline pieces on it


def _outline_lines(ap: np.ndarray, min_piece: float) -> list[_Line]:
    """The straight pieces of a closed polygon, collinear ones merged, longest first."""
    pts = ap.tolist()
    segs = []
    for i, (ax, ay) in enumerate(pts):
        bx, by = pts[(i + 1) % len(pts)]
        length = math.hypot(bx - ax, by - ay)
        if length >= min_piece:
            segs.append((length, ax, ay, bx, by))
    segs.sort(reverse=True)
    lines: list[_Line] = []
    for length, ax, ay, bx, by in segs:
        ux, uy = (bx - ax) / length, (by - ay) / length
        for ln in lines:
            if (
                abs(ux * ln.ux + uy * ln.uy) > 0.995
                and abs((ax - ln.px) * -ln.uy + (ay - ln.py) * ln.ux) < 3
                and abs((bx - ln.px) * -ln.uy + (by - ln.py) * ln.ux) < 3
            ):
                ln.length += length
                break
        else:
            lines.append(_Line(ux, uy, ax, ay, length))
    lines.sort(key=lambda ln: -ln.length)
    return lines


def _quads_of_lines(lines: list[_Line], min_area: float, max_quads: int) -> list[np.ndarray]:
    """Quads of four lines in two roughly parallel pairs (neighbours across), each side mostly
    covered by outline pieces (not a line stretched far beyond what was seen)."""
    import cv2

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
            q = _intersect_all([np.array([ln.ux, ln.uy, ln.px, ln.py], np.float32) for ln in ls])
            if q is None or not cv2.isContourConvex(q.reshape(-1, 1, 2)) or cv2.contourArea(q) < min_area:
                break
            if any(ln.length < 0.4 * float(np.hypot(*(q[(j + 1) % 4] - q[j]))) for j, ln in enumerate(ls)):
                break
            out.append(order_corners(q))
            if len(out) >= max_quads:
                return out
            break
    return out


def _interior_flat(ycc: np.ndarray, quad: np.ndarray, white: float) -> bool:
    """A box, a phone or a sheet of paper: the inside of the quad is uniform, or mostly
    colourless paper white (``white``: the frame's bright level) with a little dark print (a
    card is printed edge to edge)."""
    small = warp(ycc, quad, (44, 32))[4:-4, 3:-3].reshape(-1, 3).astype(np.float32)
    L, chroma = small[:, 0], np.hypot(small[:, 1] - 128, small[:, 2] - 128)
    if float(np.std(L)) < 1.5 and float(np.std(chroma)) < 1.5:
        return True
    pale = (0.85 * white < L) & (chroma < 8)
    return bool(np.mean(pale) > 0.7)


def _card_inside(edges: _Edges, q: np.ndarray) -> np.ndarray | None:
    """A top-loader's rim is a thick edge (two close parallel edges) a few per cent outside the
    card. When three sides of ``q`` sit on such a rim, the card is the quad on the nearest
    edges inside it (past the rim, up to 11 % of the height in), if that quad holds (edge
    support); else None (``q`` is the card). The card's own printed border is wider than a rim
    and is not mistaken for one."""
    h = (
        max(
            np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1]),
            np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[3]),
        )
        / 2
    )
    r = int(np.ceil(0.11 * h))
    lo = max(2.0, 0.018 * h)  # past the far side of a thick plastic edge
    offs: list[float | None] = []
    thick = 0  # sides on a thick edge (two close parallel edges): the rim of a plastic holder
    for i in range(4):
        _, _, prof = edges.profile(q[i], q[(i + 1) % 4], r, n=24)
        prof = prof[:, r:]  # inward half: offsets 0..r (the normal points inward)
        mid = prof[:, 1:-1]
        peak = (mid > prof[:, :-2]) & (mid >= prof[:, 2:]) & (mid > 0.5 * edges.floor)
        # a separate edge, not the tail of the one q is on: the profile dips in between
        valley = np.minimum.accumulate(prof, axis=1)[:, 1:-1]
        peak &= valley < 0.5 * mid
        m = np.median(prof, axis=0)
        j = 2 + int(np.argmax(m[2 : max(4, round(0.012 * h + 3))]))  # thinner than a printed border
        rim = bool(m[j] >= 0.4 * m[0] and m[j] >= m[j + 1] and m[1:j].min() < 0.6 * min(m[0], m[j]))
        thick += rim
        cnt = peak.sum(axis=0).astype(np.float32)
        cnt = cnt + np.concatenate([[0], cnt[:-1]]) + np.concatenate([cnt[1:], [0]])
        dist = np.arange(1, len(cnt) + 1, dtype=np.float32)
        ok = (dist >= max(lo, j + 2.0 if rim else 0.0)) & (cnt >= 0.6 * prof.shape[0])
        offs.append(float(dist[np.argmax(ok)]) if ok.any() else None)
    got = [o / h for o in offs if o is not None]
    if thick < 3 or len(got) < 3:
        return None
    lines = []
    for i in range(4):
        a, b = q[i], q[(i + 1) % 4]
        u = (b - a) / (np.linalg.norm(b - a) + 1e-6)
        n = np.array([-u[1], u[0]], np.float32)
        lines.append(np.array([u[0], u[1], *(a + (offs[i] or 0.0) * n)], np.float32))
    inner = _intersect_all(lines)
    if inner is None:
        return None
    inner, sup, sup_min = edges.snap(order_corners(inner), 2)
    if inner is None or sup < 0.75 or sup_min < 0.35:
        return None
    return order_corners(inner)


BORDER = 0.038  # a card's printed border, share of its width (9-10 px of 252 on every side)


def _shift(q: np.ndarray, d: float) -> np.ndarray | None:
    """The quad ``q`` (clockwise) with every side moved ``d`` px outward."""
    lines = []
    for i in range(4):
        a, b = q[i], q[(i + 1) % 4]
        u = (b - a) / (np.linalg.norm(b - a) + 1e-6)
        out = np.array([u[1], -u[0]], np.float32)  # left of a -> b on screen: outward
        lines.append(np.array([u[0], u[1], *(a + d * out)], np.float32))
    return _intersect_all(lines)


def _outer_card(edges: _Edges, ycc: np.ndarray, q: np.ndarray) -> np.ndarray | None:
    """When ``q`` is the inner edge of a card's printed border (the art and text inside it
    give stronger edges than the card's outline against the table), the card: a well
    supported quad one border width further out, with a uniform band in between."""
    side = (
        min(
            np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[3]),
            np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1]),
        )
        / 2
    )
    b = BORDER / (1 - 2 * BORDER) * side
    if b < 2.5:
        return None
    grown = _shift(q, b)
    if grown is None:
        return None
    g, sup, sup_min = edges.snap(order_corners(grown), max(2, round(0.4 * b)))
    if g is None or sup < 0.75 or sup_min < 0.5:
        return None
    g = order_corners(g)
    inset = _inset(g, q)
    if inset.min() < 0.5 * BORDER * 0.716 or inset.max() > 1.6 * BORDER:
        return None
    # the band between is the printed border: one colour along each side
    w = warp(ycc, g, (176, 128)).astype(np.float32)
    bands = (w[1:4, 8:-8], w[-4:-1, 8:-8], w[8:-8, 1:4].transpose(1, 0, 2), w[8:-8, -4:-1].transpose(1, 0, 2))
    inner = w[16:-16, 16:-16]
    spread = float(np.sqrt(((inner - inner.mean(axis=(0, 1))) ** 2).sum(axis=2)).mean()) + 5.0
    for band in bands:
        line = band.mean(axis=0)
        if float(np.sqrt(((line - line.mean(axis=0)) ** 2).sum(axis=1)).mean()) > 0.35 * spread:
            return None
    return g


def _inset(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
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


def _back_border(ycc: np.ndarray, quad: np.ndarray) -> bool:
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


def _downscale(img: np.ndarray, work_size: int) -> tuple[np.ndarray, float]:
    """The working copy: the photo shrunk by an integer factor (box filter: fast and clean) to a
    long side near ``work_size``, and the scale (working px per photo px)."""
    import cv2

    h, w = img.shape[:2]
    f = max(1, round(max(h, w) / work_size))
    if f == 1:
        return img, 1.0
    hh, ww = h // f * f, w // f * f  # crop < f px so the factor is exact
    small = cv2.resize(img[:hh, :ww], (ww // f, hh // f), interpolation=cv2.INTER_AREA)
    return small, 1.0 / f


@dataclass
class _Scored:
    score: float
    sup: float  # mean share of the sides on an edge
    sup_min: float  # the weakest side
    quad: np.ndarray  # TL, TR, BR, BL, working-image px


def _working(img: np.ndarray, cfg: DetectConfig) -> tuple[np.ndarray, float, float]:
    """The blurred working copy in YCrCb, its scale (working px per photo px) and the frame's
    bright level (98th percentile of Y: paper white)."""
    import cv2

    small, s = _downscale(img, cfg.work_size)
    ycc = cv2.cvtColor(cv2.GaussianBlur(small, (5, 5), 0), cv2.COLOR_RGB2YCrCb)
    return ycc, s, float(np.percentile(ycc[::4, ::4, 0], 98))


def _frame_border(quad: np.ndarray, sh: int, sw: int) -> bool:
    """Three or more corners on the frame's edge: the photo's border, not a card (a photo that
    is all card is handled by the fallback)."""
    return bool(
        np.sum((quad[:, 0] < 2) | (quad[:, 0] > sw - 3) | (quad[:, 1] < 2) | (quad[:, 1] > sh - 3)) >= 3
    )


def _scored(
    img: np.ndarray, cfg: DetectConfig
) -> tuple[list[_Scored], _Edges | None, float, tuple[int, int], np.ndarray]:
    """Every card-like quad with its score, best first; the edges, the scale, the working size
    and the working image (YCrCb) (for :func:`find_cards` and for inspection)."""
    import cv2

    ycc, s, white = _working(img, cfg)
    sh, sw = ycc.shape[:2]
    frame = float(sh * sw)
    edges: _Edges | None = None
    seen: list[np.ndarray] = []
    found: list[_Scored] = []

    def _snap_all(cand: list[np.ndarray]) -> None:
        nonlocal edges
        for quad in cand:
            if abs(_quad_aspect(quad) - CARD_ASPECT) > cfg.aspect_tol:
                continue
            if _frame_border(quad, sh, sw):
                continue
            diag = float(np.linalg.norm(quad[2] - quad[0]))
            if any(np.abs(quad - o).max() < 0.01 * diag + 1.0 for o in seen):
                continue  # the same outline from another binarization
            seen.append(quad)
            if edges is None:
                edges = _Edges(ycc)
            radius = max(2, round(cfg.snap_radius * diag))
            # a near search first: when the outline is already on the card's edge, a wider one
            # can jump to the stronger inner edge of the printed border along part of a side
            q, sup, sup_min = edges.snap(quad, 3)
            wide = q is None or sup + sup_min < 1.4
            if wide:
                q3, sup3, sup_min3 = edges.snap(quad, radius, n=20)
                if q3 is not None and (q is None or sup3 + sup_min3 > sup + sup_min):
                    q, sup, sup_min = q3, sup3, sup_min3
                else:
                    wide = False
            if q is None or sup < 0.8 * cfg.min_support:
                continue
            if any(np.abs(order_corners(q) - f.quad).max() < 2.0 for f in found):
                continue  # converged onto a quad already scored
            if wide:
                q2, sup2, sup_min2 = edges.snap(order_corners(q), 2)  # settle on the edge found
                if q2 is not None and sup2 >= sup:
                    q, sup, sup_min = q2, sup2, sup_min2
            q = order_corners(q)
            if sup < cfg.min_support or np.max(np.linalg.norm(q - quad, axis=1)) > 0.1 * diag:
                continue
            if not cv2.isContourConvex(q.reshape(-1, 1, 2)):
                continue
            qarea = cv2.contourArea(q)
            err = abs(_quad_aspect(q) - CARD_ASPECT)
            if err > cfg.aspect_tol or qarea < cfg.min_area * frame or _interior_flat(ycc, q, white):
                continue
            centre = np.abs(q.mean(axis=0) / np.array([sw, sh], np.float32) - 0.5).max()
            pc = portrait_corners(q)
            axis = (pc[2] + pc[3] - pc[0] - pc[1]) / 2  # top -> bottom of the card
            tilt = abs(float(axis[0])) / (float(np.linalg.norm(axis)) + 1e-6)  # |sin| of the angle to upright
            score = (
                sup
                * sup_min
                * (qarea / frame) ** 0.5
                * (1.0 - 0.5 * err / cfg.aspect_tol)
                * (1.0 - 0.3 * centre)
                * (1.0 - 0.3 * tilt)
                * (0.5 if _back_border(ycc, q) else 1.0)
            )
            found.append(_Scored(score, sup, sup_min, q))

    for group in _candidate_groups(ycc):
        cand: list[np.ndarray] = []
        for c in group:
            if len(c) >= 4:
                cand += _quads_from_contour(c, cfg.min_area * frame, cfg.min_fill)
        _snap_all(cand)
    found.sort(key=lambda f: -f.score)
    return found, edges, s, (sh, sw), ycc


def _nested(q: np.ndarray, outer: np.ndarray) -> bool:
    """``q`` is smaller than ``outer`` and its centre lies inside it."""
    import cv2

    c = q.mean(axis=0)
    inside = cv2.pointPolygonTest(outer.reshape(-1, 1, 2), (float(c[0]), float(c[1])), False) > 0
    return bool(inside and cv2.contourArea(q) < cv2.contourArea(outer))


def find_cards(
    img: np.ndarray, cfg: DetectConfig | None = None, limit: int = 3
) -> list[tuple[np.ndarray, float]]:
    """Card-like quads, best first: [(corners TL, TR, BR, BL in photo pixels, confidence)]."""
    found, edges, s, (sh, sw), ycc = _scored(img, cfg or DetectConfig())
    out: list[_Scored] = []
    for f in found:
        # drop near-duplicates (the same card seen by several binarizations) and smaller quads
        # inside one already taken (its art window, text box or printed border)
        if all(
            np.abs(f.quad - o.quad).max() > 0.05 * max(sh, sw) and not _nested(f.quad, o.quad) for o in out
        ):
            out.append(f)
        if len(out) == limit:
            break
    quads = [f.quad for f in out]
    if edges is not None:
        quads = [q if (c := _card_inside(edges, q)) is None else c for q in quads]
        quads = [q if (c := _outer_card(edges, ycc, q)) is None else c for q in quads]
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
    import cv2

    cfg = cfg or DetectConfig()
    ycc, s, white = _working(img, cfg)
    sh, sw = ycc.shape[:2]
    frame = float(sh * sw)
    cand = [
        q
        for c in next(_candidate_groups(ycc))
        if len(c) >= 4
        for q in _quads_from_contour(c, cfg.min_area * frame, cfg.min_fill)
        if abs(_quad_aspect(q) - CARD_ASPECT) <= cfg.aspect_tol and not _frame_border(q, sh, sw)
    ]
    for q in sorted(cand, key=lambda q: -cv2.contourArea(q))[:3]:
        if _interior_flat(ycc, q, white) or _back_border(ycc, q):
            continue
        corners = portrait_corners(q / s).astype(np.float32)
        return Detection(corners=corners, crop=warp(img, corners), found=True, confidence=0.5)
    return None


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
