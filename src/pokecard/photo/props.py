"""What is in the scene besides the card: the surface it lies on, clutter, other cards (a
generic card back or distractor scans), a thumb holding it, glare on the card or sleeve."""

from __future__ import annotations

import math

import cv2
import numpy as np

from pokecard.card import CARD_ASPECT
from pokecard.photo.draw import blend, check_image, grid, lowfreq, paste, resize_to, rounded_mask

_SURFACES = {
    "wood": [(150, 105, 65), (110, 75, 45), (185, 140, 95), (90, 60, 40)],
    "table": [(235, 235, 230), (200, 200, 195), (60, 60, 62), (170, 175, 180), (220, 215, 200)],
    "cloth": [(40, 50, 90), (120, 30, 40), (50, 90, 60), (90, 90, 95), (200, 190, 170)],
    "mat": [(25, 25, 30), (20, 40, 70), (60, 20, 60), (30, 60, 45)],
    "paper": [(245, 245, 240), (250, 248, 235)],
}


def surface(rng: np.random.Generator, H: int, W: int) -> np.ndarray:
    """A surface at half resolution (it is smooth; the camera blurs it anyway), upsampled."""
    h, w = max(8, H // 2), max(8, W // 2)
    img = _surface_small(rng, h, w)
    return cv2.resize(img, (W, H), interpolation=cv2.INTER_LINEAR)


def _surface_small(rng: np.random.Generator, H: int, W: int) -> np.ndarray:
    kind = str(rng.choice(list(_SURFACES)))
    base = np.array(_SURFACES[kind][int(rng.integers(len(_SURFACES[kind])))], np.float32)
    base = np.clip(base + rng.normal(0, 12, 3), 0, 255)
    if kind == "wood":
        # grain: noise stretched along one axis, plus plank seams
        small = rng.random((int(rng.integers(40, 90)), 6)).astype(np.float32)
        grain = cv2.resize(small, (W, H) if rng.random() < 0.5 else (H, W), interpolation=cv2.INTER_CUBIC)
        if grain.shape != (H, W):
            grain = grain.T.copy()
        fine = lowfreq(rng, H, W, 200)
        img = base * (0.75 + 0.35 * grain[..., None] + 0.08 * fine[..., None])
    elif kind == "cloth":
        weave = rng.random((H, W), dtype=np.float32)
        img = base * (0.85 + 0.15 * weave[..., None] + 0.2 * (lowfreq(rng, H, W, 5)[..., None] - 0.5))
    elif kind == "mat":
        img = base * (0.9 + 0.2 * lowfreq(rng, H, W, 8)[..., None])
        for _ in range(int(rng.integers(0, 4))):  # printed pattern lines of a play mat
            p1 = (int(rng.integers(W)), int(rng.integers(H)))
            p2 = (int(rng.integers(W)), int(rng.integers(H)))
            cv2.line(img, p1, p2, (base * 1.8 + 30).tolist(), int(rng.integers(1, 4)), cv2.LINE_AA)
    else:
        img = base * (0.92 + 0.12 * lowfreq(rng, H, W, 4)[..., None])
        img = img + rng.standard_normal((H, W, 1), dtype=np.float32) * 2.0
    return np.clip(img, 0, 255).astype(np.float32, copy=False)


def clutter(dst: np.ndarray, rng: np.random.Generator) -> None:
    H, W = dst.shape[:2]
    s = max(H, W)
    for _ in range(int(rng.integers(1, 6))):
        col = rng.uniform(0, 255, 3).tolist()
        kind = rng.integers(4)
        cx, cy = float(rng.uniform(-0.1, 1.1) * W), float(rng.uniform(-0.1, 1.1) * H)
        if kind == 0:  # phone / book / box
            rect = (
                (cx, cy),
                (float(rng.uniform(0.1, 0.45) * s), float(rng.uniform(0.1, 0.3) * s)),
                float(rng.uniform(0, 180)),
            )
            box = cv2.boxPoints(rect).astype(np.int32)
            cv2.fillConvexPoly(dst, box, col, cv2.LINE_AA)
            cv2.polylines(dst, [box], True, (np.array(col) * 0.6).tolist(), 2, cv2.LINE_AA)
        elif kind == 1:  # coin / mug / dice
            cv2.circle(dst, (int(cx), int(cy)), int(rng.uniform(0.02, 0.12) * s), col, -1, cv2.LINE_AA)
        elif kind == 2:  # pen / cable
            p2 = (int(cx + rng.uniform(-0.4, 0.4) * s), int(cy + rng.uniform(-0.4, 0.4) * s))
            cv2.line(dst, (int(cx), int(cy)), p2, col, int(rng.integers(3, 12)), cv2.LINE_AA)
        else:  # printed paper with text-ish lines
            w, h = float(rng.uniform(0.15, 0.4) * s), float(rng.uniform(0.2, 0.4) * s)
            box = cv2.boxPoints(((cx, cy), (w, h), float(rng.uniform(0, 180)))).astype(np.int32)
            cv2.fillConvexPoly(dst, box, (240, 240, 235), cv2.LINE_AA)
            for k in range(int(rng.integers(3, 10))):
                y = int(cy - h / 3 + k * h / 14)
                cv2.line(
                    dst, (int(cx - w / 3), y), (int(cx + rng.uniform(-0.1, 0.3) * w), y), (60, 60, 60), 1
                )


def card_back(h: int = 352, w: int = 252) -> np.ndarray:
    """A generic trading-card back (blue swirl, a ball emblem): a common distractor and occluder."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = w / 2, h / 2
    ang = np.arctan2(yy - cy, xx - cx)
    r = np.hypot(xx - cx, yy - cy) / h
    swirl = 0.5 + 0.5 * np.sin(3 * ang + 18 * r)
    img = np.clip(np.stack([30 + 40 * swirl, 60 + 60 * swirl, 140 + 90 * swirl], -1), 0, 255).astype(np.uint8)
    border = int(0.05 * w)
    img[:border], img[-border:], img[:, :border], img[:, -border:] = (
        (25, 55, 150),
        (25, 55, 150),
        (25, 55, 150),
        (25, 55, 150),
    )
    R = int(0.2 * w)
    cv2.circle(img, (int(cx), int(cy)), R, (235, 235, 235), -1, cv2.LINE_AA)
    cv2.ellipse(img, (int(cx), int(cy)), (R, R), 0, 180, 360, (210, 40, 40), -1, cv2.LINE_AA)
    cv2.line(img, (int(cx) - R, int(cy)), (int(cx) + R, int(cy)), (20, 20, 20), max(2, R // 8))
    cv2.circle(img, (int(cx), int(cy)), R // 3, (20, 20, 20), -1, cv2.LINE_AA)
    cv2.circle(img, (int(cx), int(cy)), R // 4, (240, 240, 240), -1, cv2.LINE_AA)
    for y in (int(0.14 * h), int(0.86 * h)):
        cv2.putText(
            img,
            "POKECARD",
            (int(0.16 * w), y),
            cv2.FONT_HERSHEY_DUPLEX,
            w / 260,
            (250, 200, 40),
            max(2, w // 90),
            cv2.LINE_AA,
        )
    return img


_CARD_BACK: np.ndarray | None = None


def _back() -> np.ndarray:
    global _CARD_BACK
    if _CARD_BACK is None:
        _CARD_BACK = card_back()
    return _CARD_BACK


def other_card(rng: np.random.Generator, distractors: list[np.ndarray] | None) -> np.ndarray:
    if distractors and rng.random() < 0.75:
        return check_image(distractors[int(rng.integers(len(distractors)))])
    return _back()


def place_other(
    dst: np.ndarray, rng: np.random.Generator, img: np.ndarray, card_h: float, near: np.ndarray | None = None
) -> None:
    H, W = dst.shape[:2]
    h = card_h * rng.uniform(0.8, 1.1)
    w = h * CARD_ASPECT
    if near is None:
        c = np.array([rng.uniform(-0.1, 1.1) * W, rng.uniform(-0.1, 1.1) * H])
    else:  # overlapping a corner of the target card
        k = int(rng.integers(4))
        c = near[k] + (near[k] - near.mean(0)) * rng.uniform(0.3, 0.9)
    a = rng.uniform(0, 2 * math.pi)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    quad = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]]) @ rot.T + c
    small = resize_to(img, int(max(16, h)))
    paste(dst, small, rounded_mask(*small.shape[:2]), quad.astype(np.float32))


def finger(dst: np.ndarray, rng: np.random.Generator, quad: np.ndarray, card_h: float) -> None:
    """A thumb holding the card: crosses one edge, widens into the hand leaving the frame; nail,
    creases, rounded shading, contact shadow."""
    k = int(rng.integers(4))
    a, b = quad[k], quad[(k + 1) % 4]
    centre = quad.mean(0)
    p_edge = a + (b - a) * rng.uniform(0.15, 0.85)
    outward = p_edge - centre
    outward /= np.linalg.norm(outward) + 1e-6
    outward = outward + rng.normal(0, 0.3, 2)
    outward /= np.linalg.norm(outward) + 1e-6
    width = card_h * rng.uniform(0.17, 0.26)
    tip = p_edge - outward * card_h * rng.uniform(0.04, 0.16)
    side = np.array([-outward[1], outward[0]])
    H, W = dst.shape[:2]
    # the thumb widens into the hand, which leaves the frame (one side of it more: the palm)
    joint = tip + outward * card_h * rng.uniform(0.35, 0.55)
    reach = float(H + W)
    far = joint + outward * reach
    grow = sorted([rng.uniform(0.05, 0.15), rng.uniform(0.4, 0.7)])[:: 1 if rng.random() < 0.5 else -1]
    poly = np.array(
        [
            tip + side * width / 2,
            joint + side * width / 2,
            far + side * (width / 2 + reach * grow[0]),
            far - side * (width / 2 + reach * grow[1]),
            joint - side * width / 2,
            tip - side * width / 2,
        ]
    )
    pad = int(width) + 4
    x0, y0 = np.maximum(np.floor(np.minimum(tip, joint)).astype(int) - pad - int(card_h), 0)
    x1, y1 = np.minimum(np.ceil(np.maximum(tip, joint)).astype(int) + pad + int(card_h), [W, H])
    lo, hi = poly.min(0), poly.max(0)
    x0, y0 = min(x0, max(int(lo[0]), 0)), min(y0, max(int(lo[1]), 0))
    x1, y1 = max(x1, min(int(hi[0]) + 1, W)), max(y1, min(int(hi[1]) + 1, H))
    if x1 <= x0 or y1 <= y0:
        return
    o = np.array([x0, y0], np.float64)
    h, w = y1 - y0, x1 - x0
    skin = np.array(
        [(224, 172, 140), (198, 134, 96), (141, 85, 54), (236, 190, 160), (176, 120, 90)][
            int(rng.integers(5))
        ],
        np.float32,
    ) * np.float32(rng.uniform(0.9, 1.08))
    # The hand is smooth: draw it at half resolution when it is large, then upsample.
    sc = 0.5 if h * w > 60_000 else 1.0
    hs, ws = max(2, int(round(h * sc))), max(2, int(round(w * sc)))
    wd, ch_ = width * sc, card_h * sc
    ts = (tip - o) * sc
    t = tuple(np.round(ts).astype(int))
    m = np.zeros((hs, ws), np.float32)
    cv2.fillPoly(m, [np.round((poly - o) * sc * 4).astype(np.int32)], 1.0, cv2.LINE_AA, shift=2)
    cv2.circle(m, t, max(1, int(wd / 2)), 1.0, -1, cv2.LINE_AA)
    ang = math.degrees(math.atan2(outward[1], outward[0]))
    # shading: a distance transform gives the rounded profile of thumb and palm edges, and
    # the hand darkens away from the light falling on the tip
    dist = cv2.distanceTransform((m > 0.5).astype(np.uint8), cv2.DIST_L2, 3)
    prof = np.clip(dist / (wd / 2 + 1e-6), 0, 1) ** 0.5
    yy, xx = grid(hs, ws)
    along = ((xx - ts[0]) * outward[0] + (yy - ts[1]) * outward[1]) / (ch_ + 1e-6)
    fall = 1 - 0.3 * np.clip(along, 0, 1)
    col = skin * ((0.62 + 0.45 * prof) * fall)[..., None]
    for d in (1.15, 1.35):  # knuckle creases
        c = ts + outward * wd * d
        p1 = tuple(np.round(c + side * wd * 0.35).astype(int))
        p2 = tuple(np.round(c - side * wd * 0.35).astype(int))
        cv2.line(col, p1, p2, (skin * 0.6).tolist(), max(1, int(wd / 30)), cv2.LINE_AA)
    nail = np.zeros((hs, ws), np.float32)
    nail_c = tuple(np.round(ts + outward * wd * 0.42).astype(int))
    cv2.ellipse(nail, nail_c, (int(wd * 0.36), int(wd * 0.3)), ang, 0, 360, 1.0, -1, cv2.LINE_AA)
    nail = cv2.GaussianBlur(nail, (0, 0), max(0.8, wd / 30))[..., None] * 0.5
    col = col * (1 - nail) + (skin * 0.75 + 55) * nail
    # soft contact shadow, shifted (not wrapped around)
    blurred = cv2.GaussianBlur(m, (0, 0), max(1.0, wd / 6))
    d = max(1, int(wd * 0.08))
    sh = np.zeros_like(blurred)
    sh[d:, d:] = blurred[:-d, :-d]
    if sc != 1.0:
        col = cv2.resize(col, (w, h), interpolation=cv2.INTER_LINEAR)
        m = cv2.resize(m, (w, h), interpolation=cv2.INTER_LINEAR)
        sh = cv2.resize(sh, (w, h), interpolation=cv2.INTER_LINEAR)
    else:
        m = cv2.GaussianBlur(m, (3, 3), 0)
    region = dst[y0:y1, x0:x1]
    region *= (1 - sh * 0.35)[..., None]
    blend(dst, y0, y1, x0, x1, col.astype(np.float32), m)


def glare(dst: np.ndarray, rng: np.random.Generator, quad: np.ndarray, strength: float) -> None:
    """Bright band(s) of reflected light over the card/sleeve quad, clipped to it."""
    H, W = dst.shape[:2]
    x0, y0 = np.floor(quad.min(0)).astype(int)
    x1, y1 = np.ceil(quad.max(0)).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, W), min(y1, H)
    if x1 <= x0 or y1 <= y0:
        return
    h, w = y1 - y0, x1 - x0
    mask = np.zeros((h, w), np.float32)
    cv2.fillConvexPoly(mask, np.round((quad - [x0, y0]) * 4).astype(np.int32), 1.0, cv2.LINE_AA, shift=2)
    yy, xx = grid(h, w)
    light = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(1, 3))):
        ang = rng.uniform(0, math.pi)
        t = xx * math.cos(ang) + yy * math.sin(ang)
        lo, hi = float(t.min()), float(t.max())
        c = rng.uniform(lo + 0.2 * (hi - lo), hi - 0.2 * (hi - lo))  # the band crosses the card
        width = rng.uniform(0.04, 0.14) * max(h, w)
        light += np.exp(-(((t - c) / width) ** 2)) * rng.uniform(0.6, 1.0)
    if rng.random() < 0.4:  # a point light source reflection (lamp)
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.04, 0.14) * max(h, w)
        light += np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r)) * rng.uniform(0.7, 1.3)
    a = np.clip(light * strength, 0, 1) * mask
    region = dst[y0:y1, x0:x1]
    region += (255 - region) * a[..., None] * 0.95
