"""Recognizer benchmark (filled in below)."""

from __future__ import annotations

import numpy as np


def fallback_scene(
    card_rgb: np.ndarray, seed: int, size_hw: tuple[int, int] = (960, 720)
) -> tuple[np.ndarray, np.ndarray]:
    """A simple simulated phone photo: the card in perspective on a textured table.

    Used only when the project's photo simulator (``pokecard.photo``) is not installed.
    Returns (photo uint8 RGB, corners float32 [4, 2] of the card's TL, TR, BR, BL).
    """
    import cv2

    rng = np.random.default_rng(seed)
    H, W = size_hw
    # table: a colour, a lighting gradient, texture noise, a few distractor shapes
    base = rng.uniform(30, 220, size=3)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    grad = 1.0 + 0.25 * ((xx / W - 0.5) * rng.uniform(-1, 1) + (yy / H - 0.5) * rng.uniform(-1, 1))
    tex = cv2.GaussianBlur(rng.normal(0, 18, size=(H, W)).astype(np.float32), (0, 0), rng.uniform(1, 4))
    bg = np.clip(base[None, None, :] * grad[..., None] + tex[..., None], 0, 255).astype(np.uint8)
    for _ in range(rng.integers(0, 4)):
        c = tuple(int(v) for v in rng.uniform(0, 255, 3))
        x0, y0 = int(rng.uniform(0, W)), int(rng.uniform(0, H))
        cv2.rectangle(bg, (x0, y0), (x0 + int(rng.uniform(20, 200)), y0 + int(rng.uniform(20, 200))), c, -1)
    ch, cw = card_rgb.shape[:2]
    card_h = rng.uniform(0.5, 0.8) * H
    card_w = card_h * cw / ch
    ang = np.deg2rad(rng.uniform(-25, 25) + (180 if rng.random() < 0.15 else 0))
    cx, cy = W / 2 + rng.uniform(-0.1, 0.1) * W, H / 2 + rng.uniform(-0.08, 0.08) * H
    rect = np.array(
        [
            [-card_w / 2, -card_h / 2],
            [card_w / 2, -card_h / 2],
            [card_w / 2, card_h / 2],
            [-card_w / 2, card_h / 2],
        ]
    )
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    pts = rect @ rot.T + [cx, cy]
    pts += rng.normal(0, 0.035 * card_h, size=(4, 2))  # perspective
    pts = pts.astype(np.float32)
    src = np.array([[0, 0], [cw - 1, 0], [cw - 1, ch - 1], [0, ch - 1]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(src, pts)
    warped = cv2.warpPerspective(card_rgb, m, (W, H), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full((ch, cw), 255, np.uint8), m, (W, H))
    photo = np.where(mask[..., None] > 127, warped, bg).astype(np.float32)
    photo = photo * rng.uniform(0.75, 1.2) + rng.uniform(-25, 25)  # exposure
    photo = photo * (grad[..., None] * 0.5 + 0.5)
    photo = cv2.GaussianBlur(photo, (0, 0), rng.uniform(0.3, 1.4))
    photo += rng.normal(0, rng.uniform(2, 7), size=photo.shape)
    photo = np.clip(photo, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(photo, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(rng.uniform(55, 90))]
    )
    photo = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return photo, pts
