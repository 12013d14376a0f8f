"""The camera: light (exposure, colour temperature, uneven light), then optics and sensor
(defocus, motion blur, low resolution, noise, sharpening, JPEG)."""

from __future__ import annotations

import math

import cv2
import numpy as np

from pokecard.photo.config import PhotoConfig
from pokecard.photo.rng import Rngs, on, uniform


def light(img: np.ndarray, rng: np.random.Generator, cfg: PhotoConfig) -> np.ndarray:
    """Exposure and colour temperature (with a white-balance tint), in place on the float photo."""
    exp = uniform(rng, cfg.exposure_range)
    t = uniform(rng, cfg.temperature_range)
    gains = np.array([1 + t, 1 + 0.1 * t, 1 - t], np.float32) * np.float32(exp)
    tint = 1 + rng.normal(0, 0.02, 3).astype(np.float32)  # green/magenta white-balance error
    img *= gains * tint
    return img


def uneven(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
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


def optics_and_sensor(
    img: np.ndarray, rngs: Rngs, cfg: PhotoConfig, px_scale: float, noise_scale: float = 1.0
) -> np.ndarray:
    """Blur, resolution, noise and JPEG. ``px_scale`` converts 960-px-wide photo pixels to this image.

    Blur and resampling run on 8-bit images (several times faster than float in OpenCV).
    """
    img = np.clip(img, 0, 255).astype(np.uint8)
    r = rngs["defocus"]
    if on(r, cfg.defocus_p):
        img = cv2.filter2D(img, -1, _disk_kernel(max(0.6, uniform(r, cfg.defocus_px) * px_scale)))
    r = rngs["motion_blur"]
    if on(r, cfg.motion_blur_p):
        img = cv2.filter2D(img, -1, _motion_kernel(r, max(3.0, uniform(r, cfg.motion_blur_px) * px_scale)))
    r = rngs["lowres"]
    if on(r, cfg.lowres_p):
        H, W = img.shape[:2]
        f = uniform(r, cfg.lowres_range)
        small = cv2.resize(img, (max(8, int(W * f)), max(8, int(H * f))), interpolation=cv2.INTER_AREA)
        img = cv2.resize(small, (W, H), interpolation=cv2.INTER_LINEAR)
    r = rngs["noise"]
    if on(r, cfg.noise_p):
        sigma = np.float32(uniform(r, cfg.noise_sigma) * noise_scale)
        H, W = img.shape[:2]
        f = img.astype(np.float32)
        # shot noise grows with brightness; chroma noise is blotchy (demosaicing)
        lum = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32) * np.float32(1 / 255.0)
        luma_n, chroma_n = _noise_fields(r, H, W)
        f += (luma_n * (sigma * (0.5 + lum)))[..., None]
        f += cv2.resize(chroma_n, (W, H), interpolation=cv2.INTER_LINEAR) * (sigma * 0.5)
        img = np.clip(f, 0, 255).astype(np.uint8)
    r = rngs["sharpen"]
    if on(r, cfg.sharpen_p):
        # the phone's ISP sharpens after demosaicing/denoising: unsharp mask, with halos
        amount = np.float32(r.uniform(0.3, 1.2))
        soft = cv2.GaussianBlur(img, (0, 0), r.uniform(0.8, 2.0) * max(px_scale, 0.5))
        img = cv2.addWeighted(img, float(1 + amount), soft, float(-amount), 0)
    r = rngs["jpeg"]
    if on(r, cfg.jpeg_p):
        q = int(round(uniform(r, cfg.jpeg_quality)))
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
        if ok:
            img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    return img
