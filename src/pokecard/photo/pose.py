"""Where the card lies in the photo: a 3D pose (tilt, rotation, distance, position) projected
through a pinhole camera, giving card-plane points (and so the card's corners) in photo pixels."""

from __future__ import annotations

import math

import numpy as np

from pokecard.card import CARD_ASPECT
from pokecard.photo.config import PhotoConfig
from pokecard.photo.rng import on


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


class Pose:
    """Maps card-plane points (in card heights, origin at the card centre) to photo pixels."""

    def __init__(self, rot: np.ndarray, dist: float, focal: float, center: np.ndarray) -> None:
        self.rot, self.dist, self.focal, self.center = rot, dist, focal, center

    def project(self, pts: np.ndarray) -> np.ndarray:
        p3 = np.concatenate([pts, np.zeros((len(pts), 1))], 1) @ self.rot.T
        p3[:, 2] += self.dist
        return (self.focal * p3[:, :2] / p3[:, 2:3] + self.center).astype(np.float32)


def card_plane_rect(margin_w: float = 0.0, margin_h: float = 0.0, top_extra: float = 0.0) -> np.ndarray:
    """Corners TL, TR, BR, BL of the card (plus margins, in card heights) in the card plane."""
    hw, hh = CARD_ASPECT / 2 + margin_w, 0.5 + margin_h
    return np.array([[-hw, -hh - top_extra], [hw, -hh - top_extra], [hw, hh], [-hw, hh]], np.float64)


def make_pose(
    rng: np.random.Generator,
    cfg: PhotoConfig,
    hw: tuple[int, int],
    card_h_px: float,
    center_frac: tuple[float, float] | None = None,
) -> Pose:
    H, W = hw
    focal = W * rng.uniform(0.8, 1.1)  # ~ a phone's main camera, 60-75 degrees horizontal
    tilt = math.radians(cfg.max_tilt_deg) if cfg.perspective else 0.0
    pitch, yaw = rng.uniform(-tilt, tilt), rng.uniform(-tilt, tilt) * 0.7
    roll = math.radians(rng.uniform(-cfg.max_rotation_deg, cfg.max_rotation_deg))
    if on(rng, cfg.upside_down_p):
        roll += math.pi
    rot = _rotation(pitch, yaw, roll)
    dist = focal / card_h_px
    pose = Pose(rot, dist, focal, np.zeros(2))
    pts = pose.project(card_plane_rect(0.03, 0.03))
    lo, hi = pts.min(0), pts.max(0)
    size = hi - lo
    over = float(np.max(size / (0.96 * np.array([W, H]))))
    if center_frac is None and over > 1:
        # keep the whole card in the frame (scene photos promise four visible corners)
        pose.dist *= over * 1.01
        pts = pose.project(card_plane_rect(0.03, 0.03))
        lo, hi = pts.min(0), pts.max(0)
        size = hi - lo
    if center_frac is not None:
        c = np.array([W * center_frac[0], H * center_frac[1]]) - (lo + hi) / 2
    else:
        room = np.maximum(np.array([W, H]) - size, 0)
        c = -lo + room * rng.uniform(0.1, 0.9, 2) + np.minimum(np.array([W, H]) - size, 0) / 2
    pose.center = c
    return pose
