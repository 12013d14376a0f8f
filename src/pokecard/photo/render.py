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

This module runs the pipeline; the steps live in photo.pose (2), photo.props (3, 4; the
pasting and blending primitives in photo.draw) and photo.optics (5, 6).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from pokecard.card import CANONICAL_H, CANONICAL_W
from pokecard.photo.config import PhotoConfig
from pokecard.photo.draw import check_image, fill_quad, grid, lowfreq, paste, resize_to, rounded_mask
from pokecard.photo.optics import light, optics_and_sensor, uneven
from pokecard.photo.pose import card_plane_rect, make_pose
from pokecard.photo.props import clutter, finger, glare, other_card, place_other, surface
from pokecard.photo.rng import Rngs, on, uniform
from pokecard.warp import quad_matrix, warp, warp_matrix

# Bumped whenever the same (card, seed, config) gives different pixels: caches of simulated
# photos (training pools, shards) include it in their key.
SIMULATOR_VERSION = "photo-2"
CROP_RENDER_MAX = 380.0  # px: crops render the card at most this tall (the crop is 352)


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
    yy, xx = grid(h, w)
    t = (xx * math.cos(ang) + yy * math.sin(ang)) / max(h, w)
    freq, phase = rng.uniform(3, 9), rng.uniform(0, 2 * math.pi)
    rainbow = np.stack([np.sin(2 * math.pi * (freq * t + k / 3) + phase) for k in range(3)], -1)
    band = np.exp(-(((t - rng.uniform(0.2, 0.8)) / rng.uniform(0.05, 0.2)) ** 2))[..., None]
    sparkle = (lowfreq(rng, h, w, 60) > 0.85).astype(np.float32)[..., None] * rng.uniform(5, 25)
    # a faint rainbow everywhere on the foil, strong only in the specular band
    amp = rng.uniform(6, 22)
    fx = rainbow * amp * (0.5 + 2.0 * band) + band * rng.uniform(15, 70) + sparkle
    mask = np.ones((h, w, 1), np.float32)
    if rng.random() < 0.65:  # holo rare: the art window only; else reverse holo: all but the art
        art = np.zeros((h, w, 1), np.float32)
        art[int(0.11 * h) : int(0.51 * h), int(0.08 * w) : int(0.92 * w)] = 1
        mask = art if rng.random() < 0.7 else 1 - art
    return np.clip(img + fx.astype(np.float32) * mask, 0, 255)


# -------------------------------------------------------------------------------- scene
def _render(
    card: np.ndarray,
    rngs: Rngs,
    cfg: PhotoConfig,
    hw: tuple[int, int],
    card_h_px: float,
    distractors: list[np.ndarray] | None,
    center_frac: tuple[float, float] | None,
    px_scale: float,
    noise_scale: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    H, W = hw
    pose = make_pose(rngs["pose"], cfg, hw, card_h_px, center_frac)
    corners = pose.project(card_plane_rect())
    proj_h = float(np.linalg.norm(corners[3] - corners[0]) + np.linalg.norm(corners[2] - corners[1])) / 2

    # card surface at about its size in the photo (effects at that resolution, cheap warps)
    tex_h = int(np.clip(proj_h * 1.25, 48, card.shape[0]))
    tex: np.ndarray = resize_to(card, tex_h)  # uint8 until an effect needs float
    r = rngs["print_shift"]
    if on(r, cfg.print_shift_p):
        tex = _print_shift(tex, r, cfg.print_shift)
    r = rngs["holo"]
    if on(r, cfg.holo_p):
        tex = _holo(tex.astype(np.float32), r)

    # background
    r = rngs["background"]
    if on(r, cfg.background_p):
        photo = surface(r, H, W)
    else:
        photo = np.full((H, W, 3), r.uniform(90, 170), np.float32)
    r = rngs["clutter"]
    if on(r, cfg.clutter_p):
        clutter(photo, r)
    r = rngs["distractors"]
    if on(r, cfg.distractor_p) and cfg.max_distractors > 0:
        for _ in range(int(r.integers(1, cfg.max_distractors + 1))):
            place_other(photo, r, other_card(r, distractors), proj_h)
    r = rngs["shadow"]
    if on(r, cfg.shadow_p):
        off = r.normal(0, 0.03, 2) * proj_h
        fill_quad(
            photo,
            corners + off.astype(np.float32),
            np.zeros(3, np.float32),
            r.uniform(0.25, 0.55),
            blur=max(1.0, proj_h * r.uniform(0.02, 0.06)),
        )

    # the card
    paste(photo, tex, rounded_mask(*tex.shape[:2]), corners)

    # sleeve / top-loader: tinted plastic larger than the card, a visible edge, glare
    plastic_quad = corners
    r = rngs["sleeve"]
    r2 = rngs["toploader"]
    sleeve, loader = on(r, cfg.sleeve_p), on(r2, cfg.toploader_p)
    if sleeve:
        plastic_quad = pose.project(card_plane_rect(0.012, 0.006, r.uniform(0.0, 0.04)))
        tint = np.array([r.uniform(200, 255), r.uniform(200, 255), r.uniform(200, 255)], np.float32)
        fill_quad(photo, plastic_quad, tint, r.uniform(0.06, 0.18))
        cv2.polylines(
            photo, [np.round(plastic_quad).astype(np.int32)], True, (tint * 0.9).tolist(), 1, cv2.LINE_AA
        )
    if loader:
        plastic_quad = pose.project(card_plane_rect(0.045, 0.03, r2.uniform(0.02, 0.06)))
        fill_quad(photo, plastic_quad, np.full(3, r2.uniform(215, 250), np.float32), r2.uniform(0.08, 0.2))
        edge = np.round(plastic_quad).astype(np.int32)
        cv2.polylines(photo, [edge], True, (235, 235, 240), max(1, int(proj_h * 0.008)), cv2.LINE_AA)
    r = rngs["glare"]
    if on(r, cfg.glare_p):
        glare(photo, r, plastic_quad, r.uniform(0.6, 1.2) * (1.2 if sleeve or loader else 0.9))

    # occlusion
    r = rngs["occluder_card"]
    if on(r, cfg.occluder_card_p):
        place_other(photo, r, other_card(r, distractors), proj_h, near=corners)
    r = rngs["finger"]
    if on(r, cfg.finger_p):
        finger(photo, r, corners, proj_h)

    # light, then the camera
    r = rngs["light"]
    if on(r, cfg.light_p):
        photo = light(photo, r, cfg)
    r = rngs["uneven_light"]
    if on(r, cfg.uneven_light_p):
        photo = uneven(photo, r)
    out = optics_and_sensor(photo, rngs, cfg, px_scale, noise_scale)
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
    card = check_image(card)
    cfg = config or PhotoConfig.eval()
    H, W = int(size[0]), int(size[1])
    if H < 32 or W < 32:
        raise ValueError(f"photo size {size} is too small (at least 32 x 32)")
    rngs = Rngs(seed)
    card_h = uniform(rngs["scale"], cfg.scale_range) * H
    return _render(card, rngs, cfg, (H, W), card_h, distractors, None, W / 960.0)


def simulate_crop_with_corners(
    card: np.ndarray, seed: int, config: PhotoConfig | None = None
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Like :func:`simulate_crop`, also returning where the card's true corners fall in the crop
    (float32 [4, 2], order as in the scan) and whether the crop was delivered upside down."""
    card = check_image(card)
    cfg = config or PhotoConfig.train()
    rngs = Rngs(seed)
    card_h = uniform(rngs["scale"], cfg.crop_card_px)
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
    flipped = on(r, cfg.crop_rotate180_p)
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
