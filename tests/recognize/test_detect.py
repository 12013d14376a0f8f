"""Card detection: corners of a card in perspective, the 180-degree convention, the fallback."""

from __future__ import annotations

import numpy as np
import pytest

from pokecard.card import CANONICAL_HW
from pokecard.detect import corner_error, detect, order_corners, portrait_corners


def _scene(angle_deg: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    rng = np.random.default_rng(seed)
    card = rng.integers(60, 200, (352, 252, 3), dtype=np.uint8)
    card = cv2.GaussianBlur(card, (0, 0), 3)
    card[:12], card[-12:], card[:, :12], card[:, -12:] = 235, 235, 235, 235  # a light border
    H, W = 600, 800
    photo = np.full((H, W, 3), (40, 60, 50), np.uint8)
    a = np.deg2rad(angle_deg)
    rect = np.array([[-126, -176], [126, -176], [126, 176], [-126, 176]], np.float32) * 1.2
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]], np.float32)
    corners = (rect @ rot.T + [W / 2, H / 2]).astype(np.float32)
    corners[1] += (8, 5)  # some perspective
    m = cv2.getPerspectiveTransform(np.array([[0, 0], [251, 0], [251, 351], [0, 351]], np.float32), corners)
    warped = cv2.warpPerspective(card, m, (W, H))
    mask = cv2.warpPerspective(np.full((352, 252), 255, np.uint8), m, (W, H))
    photo[mask > 0] = warped[mask > 0]
    return photo, corners


@pytest.mark.parametrize("angle", [0.0, 12.0, -30.0, 90.0, 180.0])
def test_corners_within_two_percent_of_card_height(angle: float) -> None:
    photo, truth = _scene(angle)
    d = detect(photo)
    assert d.found and d.crop.shape == (*CANONICAL_HW, 3)
    assert corner_error(d.corners, truth) < 0.02
    # portrait: the first edge (TL -> TR) is a short side of the card
    c = d.corners
    assert np.linalg.norm(c[1] - c[0]) < np.linalg.norm(c[3] - c[0])


def test_blank_frame_falls_back_with_low_confidence() -> None:
    d = detect(np.full((300, 400, 3), 128, np.uint8))
    assert not d.found and d.blank and d.confidence < 0.5


def test_corner_order_helpers() -> None:
    pts = np.array([[10, 0], [0, 10], [10, 20], [20, 10]], np.float32)  # a diamond, shuffled
    o = order_corners(pts)
    assert len({tuple(p) for p in o}) == 4
    land = np.array([[0, 0], [100, 0], [100, 60], [0, 60]], np.float32)  # a card lying on its side
    p = portrait_corners(land)
    assert np.linalg.norm(p[1] - p[0]) == pytest.approx(60)
