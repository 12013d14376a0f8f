"""Where the card's edges are: the colour-edge map a quad's sides snap to, and lines fitted to an outline."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import cv2
import numpy as np

from pokecard.detect.geometry import intersect_all

log = logging.getLogger(__name__)


def fit_to_contour(quad: np.ndarray, contour: np.ndarray) -> np.ndarray:
    """Fit a line to the contour points near each side's middle; corners = line intersections.

    This puts the corners where the straight edges meet, not on the rounded corner that the
    polygon approximation cut."""
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
    out = intersect_all(lines)
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


class Edges:
    """Colour gradients of the working image, sampled along a quad's sides to put each side on
    the strongest edge near it (sub-pixel) and to say how much of the side an edge supports."""

    def __init__(self, ycc: np.ndarray) -> None:
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
        out = intersect_all(lines)
        if out is None:
            return None, 0.0, 0.0
        return out, float(np.mean(sup)), float(np.min(sup))


@dataclass
class Line:
    ux: float  # unit direction
    uy: float
    px: float  # a point on the line
    py: float
    length: float  # summed length of the outline pieces on it


def outline_lines(ap: np.ndarray, min_piece: float) -> list[Line]:
    """The straight pieces of a closed polygon, collinear ones merged, longest first."""
    pts = ap.tolist()
    segs = []
    for i, (ax, ay) in enumerate(pts):
        bx, by = pts[(i + 1) % len(pts)]
        length = math.hypot(bx - ax, by - ay)
        if length >= min_piece:
            segs.append((length, ax, ay, bx, by))
    segs.sort(reverse=True)
    lines: list[Line] = []
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
            lines.append(Line(ux, uy, ax, ay, length))
    lines.sort(key=lambda ln: -ln.length)
    return lines
