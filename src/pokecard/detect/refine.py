"""A quad that is a sleeve, a toploader or the printed border gives way to the card's own outline."""

from __future__ import annotations

import logging

import numpy as np

from pokecard.detect.edges import Edges
from pokecard.detect.geometry import border_inset, intersect_all, order_corners, shift, warp

log = logging.getLogger(__name__)


def card_inside(edges: Edges, q: np.ndarray) -> np.ndarray | None:
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
    inner = intersect_all(lines)
    if inner is None:
        return None
    inner, sup, sup_min = edges.snap(order_corners(inner), 2)
    if inner is None or sup < 0.75 or sup_min < 0.35:
        return None
    return order_corners(inner)


BORDER = 0.038  # a card's printed border, share of its width (9-10 px of 252 on every side)


def outer_card(edges: Edges, ycc: np.ndarray, q: np.ndarray) -> np.ndarray | None:
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
    grown = shift(q, b)
    if grown is None:
        return None
    g, sup, sup_min = edges.snap(order_corners(grown), max(2, round(0.4 * b)))
    if g is None or sup < 0.75 or sup_min < 0.5:
        return None
    g = order_corners(g)
    inset = border_inset(g, q)
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
