"""Drawing primitives of the simulator: pixel grids, smooth noise, the card's rounded-corner
mask, and pasting, blending and filling onto the float photo (touching only a bounding box)."""

from __future__ import annotations

import functools
import math

import cv2
import numpy as np

CORNER_RADIUS = 3.0 / 63.0  # real card corners: 3 mm radius on a 63 mm wide card


def grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Open (broadcastable) float32 pixel grids: yy [h, 1], xx [1, w]; cheaper than np.mgrid."""
    return np.arange(h, dtype=np.float32)[:, None], np.arange(w, dtype=np.float32)[None, :]


def lowfreq(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Smooth random field [h, w]: about ``cells`` random values along the long side, cubic-upsampled."""
    small = rng.random((max(2, cells * h // max(h, w)), max(2, cells * w // max(h, w)))).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def check_image(card: np.ndarray) -> np.ndarray:
    """The RGB channels of a uint8 [H, W, 3 or 4] card image; ValueError for anything else."""
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


def resize_to(img: np.ndarray, height: int) -> np.ndarray:
    """``img`` scaled to ``height`` rows, aspect kept (INTER_AREA down, bilinear up)."""
    h, w = img.shape[:2]
    if h == height:
        return img
    width = max(2, int(round(w * height / h)))
    interp = cv2.INTER_AREA if height < h else cv2.INTER_LINEAR
    return cv2.resize(img, (width, height), interpolation=interp)


def paste(
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
    blend(dst, y0, y1, x0, x1, out[..., :3].astype(np.float32), a)


def _soft(m: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur; a wide one is done on a downscaled copy (same look, a fraction of the cost)."""
    if sigma < 4:
        return cv2.GaussianBlur(m, (0, 0), sigma)
    f = sigma / 2
    h, w = m.shape[:2]
    small = cv2.resize(m, (max(2, int(w / f)), max(2, int(h / f))), interpolation=cv2.INTER_AREA)
    return cv2.resize(cv2.GaussianBlur(small, (0, 0), 2.0), (w, h), interpolation=cv2.INTER_LINEAR)


def blend(dst: np.ndarray, y0: int, y1: int, x0: int, x1: int, src: np.ndarray, a: np.ndarray) -> None:
    """dst[y0:y1, x0:x1] = src * a + dst * (1 - a), in one OpenCV pass (``a`` float32 [h, w])."""
    region = dst[y0:y1, x0:x1]
    dst[y0:y1, x0:x1] = cv2.blendLinear(src, np.ascontiguousarray(region), a, 1 - a)


def fill_quad(dst: np.ndarray, quad: np.ndarray, color: np.ndarray, alpha: float, blur: float = 0) -> None:
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
    blend(dst, y0, y1, x0, x1, fill, m)
