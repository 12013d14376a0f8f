"""The photo simulator: a card scan in, a camera-like photo (or rectified crop) out.

Pipeline of a scene photo (each step draws from its own random stream, derived from the
photo seed and the step's name, so switching one effect off leaves the others identical):

1. card surface: print-vs-scan colour shift, holo/foil sheen, rounded corners;
2. pose: 3D tilt (pitch, yaw), in-plane rotation (or upside down), distance (scale) and
   position, projected through a pinhole camera -> the card's four corners in the photo;
3. scene: a surface (wood, cloth, table, play mat, paper), clutter, other cards, a soft
   shadow, the card itself, a sleeve or top-loader (tinted plastic, edge, glare bands);
4. occlusion: a finger or another card over an edge of the card;
5. light: exposure, colour temperature, uneven light and vignetting;
6. optics and sensor: defocus, motion blur, low resolution, sensor noise, JPEG.

A training crop is the same scene rendered around the card at the size the card has in
a phone photo, then rectified to 352 x 252 from slightly wrong corners (the detector's
error), optionally upside down: exactly the device's preprocessing path.
"""

from __future__ import annotations

import functools
import math
import zlib

import cv2
import numpy as np

from pokecard.card import CANONICAL_H, CANONICAL_W, CARD_ASPECT
from pokecard.photo.config import PhotoConfig
from pokecard.warp import quad_matrix, warp, warp_matrix

# Bumped whenever the same (card, seed, config) gives different pixels: caches of simulated
# photos (training pools, shards) include it in their key.
SIMULATOR_VERSION = "photo-2"
CORNER_RADIUS = 3.0 / 63.0  # real card corners: 3 mm radius on a 63 mm wide card
CROP_RENDER_MAX = 380.0  # px: crops render the card at most this tall (the crop is 352)


# ------------------------------------------------------------------------------ utilities
class _Rngs:
    """One independent generator per named step, all derived from the photo seed."""

    def __init__(self, seed: int) -> None:
        if seed < 0:
            raise ValueError(f"seed must be non-negative, got {seed}")
        self.seed = int(seed)
        self._cache: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        g = self._cache.get(name)
        if g is None:
            g = np.random.default_rng([self.seed, zlib.crc32(name.encode())])
            self._cache[name] = g
        return g


def _on(rng: np.random.Generator, p: float) -> bool:
    # Always draw, so a probability change never shifts later draws of the same stream.
    return bool(rng.random() < p)


def _u(rng: np.random.Generator, r: tuple[float, float]) -> float:
    return float(rng.uniform(r[0], r[1])) if r[1] > r[0] else float(r[0])


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Open (broadcastable) float32 pixel grids: yy [h, 1], xx [1, w]; cheaper than np.mgrid."""
    return np.arange(h, dtype=np.float32)[:, None], np.arange(w, dtype=np.float32)[None, :]


def _lowfreq(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    small = rng.random((max(2, cells * h // max(h, w)), max(2, cells * w // max(h, w)))).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _check_image(card: np.ndarray) -> np.ndarray:
    if not isinstance(card, np.ndarray) or card.ndim != 3 or card.shape[2] not in (3, 4):
        raise ValueError(f"card image must be uint8 [H, W, 3] RGB, got {getattr(card, 'shape', type(card))}")
    if card.dtype != np.uint8:
        raise ValueError(f"card image must be uint8, got {card.dtype}")
    return card[..., :3]


@functools.lru_cache(maxsize=256)
def rounded_mask(h: int, w: int, radius_frac: float = CORNER_RADIUS) -> np.ndarray:
    """uint8 [h, w] alpha, 255 inside a card with rounded corners (antialiased). Cached, read-only."""
    m = np.zeros((h * 2, w * 2), np.uint8)
    r = max(1, int(round(radius_frac * w * 2)))
    cv2.rectangle(m, (r, 0), (w * 2 - 1 - r, h * 2 - 1), 255, -1)
    cv2.rectangle(m, (0, r), (w * 2 - 1, h * 2 - 1 - r), 255, -1)
    for cx, cy in ((r, r), (w * 2 - 1 - r, r), (r, h * 2 - 1 - r), (w * 2 - 1 - r, h * 2 - 1 - r)):
        cv2.circle(m, (cx, cy), r, 255, -1, cv2.LINE_AA)
    out = cv2.resize(m, (w, h), interpolation=cv2.INTER_AREA)
    out.setflags(write=False)
    return out


# ------------------------------------------------------------------------- card surface
def _print_shift(img: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """A print photographed is not the scan: ink gamut, paper white, gloss. Float [0, 255]."""
    s = strength
    gain = 1 + rng.normal(0, 0.05 * s, 3)
    gamma = np.exp(rng.normal(0, 0.12 * s, 3))
    sat = np.float32(1 + rng.uniform(-0.2, 0.2) * s)
    black = rng.uniform(0, 18) * s
    # per-channel tone curve as a lookup table (cheap at any resolution)
    x = np.linspace(0, 1, 256)[:, None]
    lut = np.clip(black + np.clip(x**gamma * gain, 0, 1) * (255 - black) + 0.5, 0, 255).astype(np.uint8)
    idx = img if img.dtype == np.uint8 else np.clip(img, 0, 255).astype(np.uint8)
    out = cv2.LUT(idx, lut.reshape(256, 1, 3)).astype(np.float32)
    grey = out.mean(axis=2, keepdims=True)
    return grey + (out - grey) * sat


def _holo(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Foil: rainbow interference colours that sweep across the art window (or the whole card)."""
    h, w = img.shape[:2]
    ang = rng.uniform(0, math.pi)
    yy, xx = _grid(h, w)
    t = (xx * math.cos(ang) + yy * math.sin(ang)) / max(h, w)
    freq, phase = rng.uniform(3, 9), rng.uniform(0, 2 * math.pi)
    rainbow = np.stack([np.sin(2 * math.pi * (freq * t + k / 3) + phase) for k in range(3)], -1)
    band = np.exp(-(((t - rng.uniform(0.2, 0.8)) / rng.uniform(0.05, 0.2)) ** 2))[..., None]
    sparkle = (_lowfreq(rng, h, w, 60) > 0.85).astype(np.float32)[..., None] * rng.uniform(5, 25)
    # a faint rainbow everywhere on the foil, strong only in the specular band
    amp = rng.uniform(6, 22)
    fx = rainbow * amp * (0.5 + 2.0 * band) + band * rng.uniform(15, 70) + sparkle
    mask = np.ones((h, w, 1), np.float32)
    if rng.random() < 0.65:  # holo rare: the art window only; else reverse holo: all but the art
        art = np.zeros((h, w, 1), np.float32)
        art[int(0.11 * h) : int(0.51 * h), int(0.08 * w) : int(0.92 * w)] = 1
        mask = art if rng.random() < 0.7 else 1 - art
    return np.clip(img + fx.astype(np.float32) * mask, 0, 255)


# ------------------------------------------------------------------------------ geometry
def _rotation(pitch: float, yaw: float, roll: float) -> np.ndarray:
    cx, sx, cy, sy, cz, sz = (
        math.cos(pitch),
        math.sin(pitch),
        math.cos(yaw),
        math.sin(yaw),
        math.cos(roll),
        math.sin(roll),
    )
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rx @ ry @ rz


class _Pose:
    """Maps card-plane points (in card heights, origin at the card centre) to photo pixels."""

    def __init__(self, rot: np.ndarray, dist: float, focal: float, center: np.ndarray) -> None:
        self.rot, self.dist, self.focal, self.center = rot, dist, focal, center

    def project(self, pts: np.ndarray) -> np.ndarray:
        p3 = np.concatenate([pts, np.zeros((len(pts), 1))], 1) @ self.rot.T
        p3[:, 2] += self.dist
        return (self.focal * p3[:, :2] / p3[:, 2:3] + self.center).astype(np.float32)


def _card_plane_rect(margin_w: float = 0.0, margin_h: float = 0.0, top_extra: float = 0.0) -> np.ndarray:
    """Corners TL, TR, BR, BL of the card (plus margins, in card heights) in the card plane."""
    hw, hh = CARD_ASPECT / 2 + margin_w, 0.5 + margin_h
    return np.array([[-hw, -hh - top_extra], [hw, -hh - top_extra], [hw, hh], [-hw, hh]], np.float64)


def _make_pose(
    rng: np.random.Generator,
    cfg: PhotoConfig,
    hw: tuple[int, int],
    card_h_px: float,
    center_frac: tuple[float, float] | None = None,
) -> _Pose:
    H, W = hw
    focal = W * rng.uniform(0.8, 1.1)  # ~ a phone's main camera, 60-75 degrees horizontal
    tilt = math.radians(cfg.max_tilt_deg) if cfg.perspective else 0.0
    pitch, yaw = rng.uniform(-tilt, tilt), rng.uniform(-tilt, tilt) * 0.7
    roll = math.radians(rng.uniform(-cfg.max_rotation_deg, cfg.max_rotation_deg))
    if _on(rng, cfg.upside_down_p):
        roll += math.pi
    rot = _rotation(pitch, yaw, roll)
    dist = focal / card_h_px
    pose = _Pose(rot, dist, focal, np.zeros(2))
    pts = pose.project(_card_plane_rect(0.03, 0.03))
    lo, hi = pts.min(0), pts.max(0)
    size = hi - lo
    over = float(np.max(size / (0.96 * np.array([W, H]))))
    if center_frac is None and over > 1:
        # keep the whole card in the frame (scene photos promise four visible corners)
        pose.dist *= over * 1.01
        pts = pose.project(_card_plane_rect(0.03, 0.03))
        lo, hi = pts.min(0), pts.max(0)
        size = hi - lo
    if center_frac is not None:
        c = np.array([W * center_frac[0], H * center_frac[1]]) - (lo + hi) / 2
    else:
        room = np.maximum(np.array([W, H]) - size, 0)
        c = -lo + room * rng.uniform(0.1, 0.9, 2) + np.minimum(np.array([W, H]) - size, 0) / 2
    pose.center = c
    return pose


# ----------------------------------------------------------------------------- drawing
def _paste(
    dst: np.ndarray, src: np.ndarray, alpha: np.ndarray, quad: np.ndarray, interp: int = cv2.INTER_LINEAR
) -> None:
    """Warp ``src`` (uint8 or float RGB) with ``alpha`` (uint8 0-255 or float 0-1, [h, w]) onto the
    float image ``dst`` so that its corners land on ``quad``."""
    H, W = dst.shape[:2]
    h, w = src.shape[:2]
    x0, y0 = np.floor(quad.min(0)).astype(int) - 1
    x1, y1 = np.ceil(quad.max(0)).astype(int) + 2
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, W), min(y1, H)
    if x1 <= x0 or y1 <= y0:
        return
    srcq = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    M = cv2.getPerspectiveTransform(srcq, (quad - np.array([x0, y0])).astype(np.float32))
    # warping 8-bit RGBA is several times faster than float; the blend is done in float
    rgb = src if src.dtype == np.uint8 else np.clip(src, 0, 255).astype(np.uint8)
    a8 = alpha if alpha.dtype == np.uint8 else np.clip(alpha * 255.0 + 0.5, 0, 255).astype(np.uint8)
    rgba = cv2.merge([*cv2.split(rgb), a8])
    out = cv2.warpPerspective(rgba, M, (x1 - x0, y1 - y0), flags=interp, borderMode=cv2.BORDER_CONSTANT)
    a = out[..., 3].astype(np.float32) * np.float32(1 / 255.0)
    _blend(dst, y0, y1, x0, x1, out[..., :3].astype(np.float32), a)


def _soft(m: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur; a wide one is done on a downscaled copy (same look, a fraction of the cost)."""
    if sigma < 4:
        return cv2.GaussianBlur(m, (0, 0), sigma)
    f = sigma / 2
    h, w = m.shape[:2]
    small = cv2.resize(m, (max(2, int(w / f)), max(2, int(h / f))), interpolation=cv2.INTER_AREA)
    return cv2.resize(cv2.GaussianBlur(small, (0, 0), 2.0), (w, h), interpolation=cv2.INTER_LINEAR)


def _blend(dst: np.ndarray, y0: int, y1: int, x0: int, x1: int, src: np.ndarray, a: np.ndarray) -> None:
    """dst[y0:y1, x0:x1] = src * a + dst * (1 - a), in one OpenCV pass (``a`` float32 [h, w])."""
    region = dst[y0:y1, x0:x1]
    dst[y0:y1, x0:x1] = cv2.blendLinear(src, np.ascontiguousarray(region), a, 1 - a)


def _fill_quad(dst: np.ndarray, quad: np.ndarray, color: np.ndarray, alpha: float, blur: float = 0) -> None:
    """Blend a (optionally blurred) filled quad of ``color`` into ``dst``; touches only its bounding box."""
    H, W = dst.shape[:2]
    pad = int(math.ceil(blur * 1.5)) + 2
    x0, y0 = np.floor(quad.min(0)).astype(int) - pad
    x1, y1 = np.ceil(quad.max(0)).astype(int) + pad
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, W), min(y1, H)
    if x1 <= x0 or y1 <= y0:
        return
    m = np.zeros((y1 - y0, x1 - x0), np.float32)
    cv2.fillConvexPoly(m, np.round((quad - [x0, y0]) * 4).astype(np.int32), 1.0, cv2.LINE_AA, shift=2)
    if blur > 0:
        m = _soft(m, blur / 2)
    m *= np.float32(alpha)
    fill = np.empty((y1 - y0, x1 - x0, 3), np.float32)
    fill[:] = color.astype(np.float32)
    _blend(dst, y0, y1, x0, x1, fill, m)


_SURFACES = {
    "wood": [(150, 105, 65), (110, 75, 45), (185, 140, 95), (90, 60, 40)],
    "table": [(235, 235, 230), (200, 200, 195), (60, 60, 62), (170, 175, 180), (220, 215, 200)],
    "cloth": [(40, 50, 90), (120, 30, 40), (50, 90, 60), (90, 90, 95), (200, 190, 170)],
    "mat": [(25, 25, 30), (20, 40, 70), (60, 20, 60), (30, 60, 45)],
    "paper": [(245, 245, 240), (250, 248, 235)],
}


def _surface(rng: np.random.Generator, H: int, W: int) -> np.ndarray:
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
        fine = _lowfreq(rng, H, W, 200)
        img = base * (0.75 + 0.35 * grain[..., None] + 0.08 * fine[..., None])
    elif kind == "cloth":
        weave = rng.random((H, W), dtype=np.float32)
        img = base * (0.85 + 0.15 * weave[..., None] + 0.2 * (_lowfreq(rng, H, W, 5)[..., None] - 0.5))
    elif kind == "mat":
        img = base * (0.9 + 0.2 * _lowfreq(rng, H, W, 8)[..., None])
        for _ in range(int(rng.integers(0, 4))):  # printed pattern lines of a play mat
            p1 = (int(rng.integers(W)), int(rng.integers(H)))
            p2 = (int(rng.integers(W)), int(rng.integers(H)))
            cv2.line(img, p1, p2, (base * 1.8 + 30).tolist(), int(rng.integers(1, 4)), cv2.LINE_AA)
    else:
        img = base * (0.92 + 0.12 * _lowfreq(rng, H, W, 4)[..., None])
        img = img + rng.standard_normal((H, W, 1), dtype=np.float32) * 2.0
    return np.clip(img, 0, 255).astype(np.float32, copy=False)


def _clutter(dst: np.ndarray, rng: np.random.Generator) -> None:
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


def _other_card(rng: np.random.Generator, distractors: list[np.ndarray] | None) -> np.ndarray:
    if distractors and rng.random() < 0.75:
        return _check_image(distractors[int(rng.integers(len(distractors)))])
    return _back()


def _place_other(
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
    small = _resize_to(img, int(max(16, h)))
    _paste(dst, small, rounded_mask(*small.shape[:2]), quad.astype(np.float32))


def _resize_to(img: np.ndarray, height: int) -> np.ndarray:
    h, w = img.shape[:2]
    if h == height:
        return img
    width = max(2, int(round(w * height / h)))
    interp = cv2.INTER_AREA if height < h else cv2.INTER_LINEAR
    return cv2.resize(img, (width, height), interpolation=interp)


def _finger(dst: np.ndarray, rng: np.random.Generator, quad: np.ndarray, card_h: float) -> None:
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
    yy, xx = _grid(hs, ws)
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
    _blend(dst, y0, y1, x0, x1, col.astype(np.float32), m)


def _glare(dst: np.ndarray, rng: np.random.Generator, quad: np.ndarray, strength: float) -> None:
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
    yy, xx = _grid(h, w)
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


# ------------------------------------------------------------------------------- camera
def _light(img: np.ndarray, rng: np.random.Generator, cfg: PhotoConfig) -> np.ndarray:
    exp = _u(rng, cfg.exposure_range)
    t = _u(rng, cfg.temperature_range)
    gains = np.array([1 + t, 1 + 0.1 * t, 1 - t], np.float32) * np.float32(exp)
    tint = 1 + rng.normal(0, 0.02, 3).astype(np.float32)  # green/magenta white-balance error
    img *= gains * tint
    return img


def _uneven(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Vignetting, a light gradient and sometimes a soft shadow: a smooth field, built small."""
    H, W = img.shape[:2]
    h, w = max(8, H // 8), max(8, W // 8)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
    vig = 1 - rng.uniform(0.1, 0.35) * r2 / 2
    ang = rng.uniform(0, 2 * math.pi)
    grad = 1 + rng.uniform(0.1, 0.35) * ((xx / w - 0.5) * math.cos(ang) + (yy / h - 0.5) * math.sin(ang))
    field = vig * grad
    if rng.random() < 0.4:  # a soft shadow (a hand, the phone) across part of the frame
        m = np.zeros((h, w), np.float32)
        cv2.fillConvexPoly(m, rng.uniform([0, 0], [w, h], (4, 2)).astype(np.int32), 1.0)
        field *= 1 - rng.uniform(0.2, 0.45) * cv2.GaussianBlur(m, (0, 0), max(h, w) / 25)
    field = cv2.resize(field.astype(np.float32), (W, H), interpolation=cv2.INTER_LINEAR)
    return img * field[..., None]


def _motion_kernel(rng: np.random.Generator, length: float) -> np.ndarray:
    n = max(3, int(round(length)) | 1)
    k = np.zeros((n, n), np.float32)
    ang = rng.uniform(0, math.pi)
    c = n // 2
    dx, dy = math.cos(ang) * c, math.sin(ang) * c
    cv2.line(
        k,
        (int(round(c - dx)), int(round(c - dy))),
        (int(round(c + dx)), int(round(c + dy))),
        1.0,
        1,
        cv2.LINE_AA,
    )
    return k / k.sum()


def _disk_kernel(r: float) -> np.ndarray:
    n = int(math.ceil(r)) * 2 + 1
    k = np.zeros((n * 4, n * 4), np.float32)
    cv2.circle(k, (n * 2, n * 2), max(1, int(r * 4)), 1.0, -1, cv2.LINE_AA)
    k = cv2.resize(k, (n, n), interpolation=cv2.INTER_AREA)
    return k / k.sum()


_BANK = 1024
_NOISE_BANK: tuple[np.ndarray, np.ndarray] | None = None


def _noise_fields(rng: np.random.Generator, H: int, W: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit Gaussian noise [H, W] and half-resolution chroma noise [H/2+1, W/2+1, 3].

    Drawn as random windows (and flips) of a fixed bank generated once per process: ten
    times cheaper than fresh normals, and still seeded by the photo's stream.
    """
    global _NOISE_BANK
    if H > _BANK or W > _BANK:
        return (
            rng.standard_normal((H, W), dtype=np.float32),
            rng.standard_normal((H // 2 + 1, W // 2 + 1, 3), dtype=np.float32),
        )
    if _NOISE_BANK is None:
        g = np.random.default_rng(20261127)
        _NOISE_BANK = (
            g.standard_normal((_BANK, _BANK), dtype=np.float32),
            g.standard_normal((_BANK // 2 + 1, _BANK // 2 + 1, 3), dtype=np.float32),
        )
    luma, chroma = _NOISE_BANK
    y, x = int(rng.integers(0, _BANK - H + 1)), int(rng.integers(0, _BANK - W + 1))
    sy, sx = (1 if rng.random() < 0.5 else -1), (1 if rng.random() < 0.5 else -1)
    ln = luma[y : y + H, x : x + W][::sy, ::sx]
    ch, cw = H // 2 + 1, W // 2 + 1
    cy, cx = int(rng.integers(0, chroma.shape[0] - ch + 1)), int(rng.integers(0, chroma.shape[1] - cw + 1))
    return ln, chroma[cy : cy + ch, cx : cx + cw]


def _optics_and_sensor(
    img: np.ndarray, rngs: _Rngs, cfg: PhotoConfig, px_scale: float, noise_scale: float = 1.0
) -> np.ndarray:
    """Blur, resolution, noise and JPEG. ``px_scale`` converts 960-px-wide photo pixels to this image.

    Blur and resampling run on 8-bit images (several times faster than float in OpenCV).
    """
    img = np.clip(img, 0, 255).astype(np.uint8)
    r = rngs["defocus"]
    if _on(r, cfg.defocus_p):
        img = cv2.filter2D(img, -1, _disk_kernel(max(0.6, _u(r, cfg.defocus_px) * px_scale)))
    r = rngs["motion_blur"]
    if _on(r, cfg.motion_blur_p):
        img = cv2.filter2D(img, -1, _motion_kernel(r, max(3.0, _u(r, cfg.motion_blur_px) * px_scale)))
    r = rngs["lowres"]
    if _on(r, cfg.lowres_p):
        H, W = img.shape[:2]
        f = _u(r, cfg.lowres_range)
        small = cv2.resize(img, (max(8, int(W * f)), max(8, int(H * f))), interpolation=cv2.INTER_AREA)
        img = cv2.resize(small, (W, H), interpolation=cv2.INTER_LINEAR)
    r = rngs["noise"]
    if _on(r, cfg.noise_p):
        sigma = np.float32(_u(r, cfg.noise_sigma) * noise_scale)
        H, W = img.shape[:2]
        f = img.astype(np.float32)
        # shot noise grows with brightness; chroma noise is blotchy (demosaicing)
        lum = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32) * np.float32(1 / 255.0)
        luma_n, chroma_n = _noise_fields(r, H, W)
        f += (luma_n * (sigma * (0.5 + lum)))[..., None]
        f += cv2.resize(chroma_n, (W, H), interpolation=cv2.INTER_LINEAR) * (sigma * 0.5)
        img = np.clip(f, 0, 255).astype(np.uint8)
    r = rngs["sharpen"]
    if _on(r, cfg.sharpen_p):
        # the phone's ISP sharpens after demosaicing/denoising: unsharp mask, with halos
        amount = np.float32(r.uniform(0.3, 1.2))
        soft = cv2.GaussianBlur(img, (0, 0), r.uniform(0.8, 2.0) * max(px_scale, 0.5))
        img = cv2.addWeighted(img, float(1 + amount), soft, float(-amount), 0)
    r = rngs["jpeg"]
    if _on(r, cfg.jpeg_p):
        q = int(round(_u(r, cfg.jpeg_quality)))
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
        if ok:
            img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    return img


# -------------------------------------------------------------------------------- scene
def _render(
    card: np.ndarray,
    rngs: _Rngs,
    cfg: PhotoConfig,
    hw: tuple[int, int],
    card_h_px: float,
    distractors: list[np.ndarray] | None,
    center_frac: tuple[float, float] | None,
    px_scale: float,
    noise_scale: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    H, W = hw
    pose = _make_pose(rngs["pose"], cfg, hw, card_h_px, center_frac)
    corners = pose.project(_card_plane_rect())
    proj_h = float(np.linalg.norm(corners[3] - corners[0]) + np.linalg.norm(corners[2] - corners[1])) / 2

    # card surface at about its size in the photo (effects at that resolution, cheap warps)
    tex_h = int(np.clip(proj_h * 1.25, 48, card.shape[0]))
    tex: np.ndarray = _resize_to(card, tex_h)  # uint8 until an effect needs float
    r = rngs["print_shift"]
    if _on(r, cfg.print_shift_p):
        tex = _print_shift(tex, r, cfg.print_shift)
    r = rngs["holo"]
    if _on(r, cfg.holo_p):
        tex = _holo(tex.astype(np.float32), r)

    # background
    r = rngs["background"]
    if _on(r, cfg.background_p):
        photo = _surface(r, H, W)
    else:
        photo = np.full((H, W, 3), r.uniform(90, 170), np.float32)
    r = rngs["clutter"]
    if _on(r, cfg.clutter_p):
        _clutter(photo, r)
    r = rngs["distractors"]
    if _on(r, cfg.distractor_p) and cfg.max_distractors > 0:
        for _ in range(int(r.integers(1, cfg.max_distractors + 1))):
            _place_other(photo, r, _other_card(r, distractors), proj_h)
    r = rngs["shadow"]
    if _on(r, cfg.shadow_p):
        off = r.normal(0, 0.03, 2) * proj_h
        _fill_quad(
            photo,
            corners + off.astype(np.float32),
            np.zeros(3, np.float32),
            r.uniform(0.25, 0.55),
            blur=max(1.0, proj_h * r.uniform(0.02, 0.06)),
        )

    # the card
    _paste(photo, tex, rounded_mask(*tex.shape[:2]), corners)

    # sleeve / top-loader: tinted plastic larger than the card, a visible edge, glare
    plastic_quad = corners
    r = rngs["sleeve"]
    r2 = rngs["toploader"]
    sleeve, loader = _on(r, cfg.sleeve_p), _on(r2, cfg.toploader_p)
    if sleeve:
        plastic_quad = pose.project(_card_plane_rect(0.012, 0.006, r.uniform(0.0, 0.04)))
        tint = np.array([r.uniform(200, 255), r.uniform(200, 255), r.uniform(200, 255)], np.float32)
        _fill_quad(photo, plastic_quad, tint, r.uniform(0.06, 0.18))
        cv2.polylines(
            photo, [np.round(plastic_quad).astype(np.int32)], True, (tint * 0.9).tolist(), 1, cv2.LINE_AA
        )
    if loader:
        plastic_quad = pose.project(_card_plane_rect(0.045, 0.03, r2.uniform(0.02, 0.06)))
        _fill_quad(photo, plastic_quad, np.full(3, r2.uniform(215, 250), np.float32), r2.uniform(0.08, 0.2))
        edge = np.round(plastic_quad).astype(np.int32)
        cv2.polylines(photo, [edge], True, (235, 235, 240), max(1, int(proj_h * 0.008)), cv2.LINE_AA)
    r = rngs["glare"]
    if _on(r, cfg.glare_p):
        _glare(photo, r, plastic_quad, r.uniform(0.6, 1.2) * (1.2 if sleeve or loader else 0.9))

    # occlusion
    r = rngs["occluder_card"]
    if _on(r, cfg.occluder_card_p):
        _place_other(photo, r, _other_card(r, distractors), proj_h, near=corners)
    r = rngs["finger"]
    if _on(r, cfg.finger_p):
        _finger(photo, r, corners, proj_h)

    # light, then the camera
    r = rngs["light"]
    if _on(r, cfg.light_p):
        photo = _light(photo, r, cfg)
    r = rngs["uneven_light"]
    if _on(r, cfg.uneven_light_p):
        photo = _uneven(photo, r)
    out = _optics_and_sensor(photo, rngs, cfg, px_scale, noise_scale)
    return out, corners


def simulate_scene(
    card: np.ndarray,
    seed: int,
    config: PhotoConfig | None = None,
    *,
    size: tuple[int, int] = (720, 960),
    distractors: list[np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A phone photo of ``card``: (uint8 RGB [H, W, 3] with (H, W) = size, corners float32 [4, 2]).

    ``corners`` are the photo pixel (x, y) of the scan's own top-left, top-right,
    bottom-right and bottom-left corners (an upside-down card has its top-left corner near
    the photo's bottom-right).
    """
    card = _check_image(card)
    cfg = config or PhotoConfig.eval()
    H, W = int(size[0]), int(size[1])
    if H < 32 or W < 32:
        raise ValueError(f"photo size {size} is too small (at least 32 x 32)")
    rngs = _Rngs(seed)
    card_h = _u(rngs["scale"], cfg.scale_range) * H
    return _render(card, rngs, cfg, (H, W), card_h, distractors, None, W / 960.0)


def simulate_crop_with_corners(
    card: np.ndarray, seed: int, config: PhotoConfig | None = None
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Like :func:`simulate_crop`, also returning where the card's true corners fall in the crop
    (float32 [4, 2], order as in the scan) and whether the crop was delivered upside down."""
    card = _check_image(card)
    cfg = config or PhotoConfig.train()
    rngs = _Rngs(seed)
    card_h = _u(rngs["scale"], cfg.crop_card_px)
    # The canvas is the card's neighbourhood at the size the card has in a ~960 px wide
    # photo, so blur and noise act at the scale they do in scene photos. A card larger than
    # the crop is rendered at CROP_RENDER_MAX with blur and noise scaled to match (the
    # final warp would shrink it anyway), which keeps crops fast.
    render_h = min(card_h, CROP_RENDER_MAX)
    scale = render_h / card_h
    side = int(render_h * 1.45) + 8
    img, corners = _render(card, rngs, cfg, (side, side), render_h, None, (0.5, 0.5), scale, scale)
    r = rngs["crop"]
    size = float(np.linalg.norm(corners[2] - corners[0]))
    detected = corners + r.normal(0, cfg.crop_jitter, (4, 2)).astype(np.float32) * size
    flipped = _on(r, cfg.crop_rotate180_p)
    if flipped:
        detected = np.roll(detected, 2, axis=0)
    M = quad_matrix(detected)
    crop = warp_matrix(img, M)
    true = cv2.perspectiveTransform(corners.reshape(1, 4, 2).astype(np.float32), M).reshape(4, 2)
    return crop, true.astype(np.float32), flipped


def simulate_crop(card: np.ndarray, seed: int, config: PhotoConfig | None = None) -> np.ndarray:
    """uint8 RGB [352, 252, 3]: the card as the device sees it after detection and rectification."""
    return simulate_crop_with_corners(card, seed, config)[0]


def rectify(
    photo: np.ndarray, corners: np.ndarray, size_hw: tuple[int, int] = (CANONICAL_H, CANONICAL_W)
) -> np.ndarray:
    """Warp the quadrilateral ``corners`` (TL, TR, BR, BL in photo pixels) to an upright card image."""
    return warp(photo, corners, size_hw)
