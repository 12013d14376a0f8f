"""The one perspective warp from a card's quad in a photo to an upright crop, used by the
detector (the device's crops) and by the photo simulator (training crops, rectified labels),
so training crops are made exactly like the device's.

The quad's corners (TL, TR, BR, BL) map to the crop's outer corners (0, 0), (w, 0), (w, h),
(0, h): a quad of exactly w x h pixels is copied, not rescaled by (w - 1) / w.
"""

from __future__ import annotations

import cv2
import numpy as np

from pokecard.card import CANONICAL_HW


def quad_matrix(corners: np.ndarray, size_hw: tuple[int, int] = CANONICAL_HW) -> np.ndarray:
    """The 3 x 3 perspective map from ``corners`` (photo pixels) to the ``size_hw`` crop."""
    h, w = size_hw
    dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    return cv2.getPerspectiveTransform(np.asarray(corners, np.float32).reshape(4, 2), dst)


def warp_matrix(img: np.ndarray, m: np.ndarray, size_hw: tuple[int, int] = CANONICAL_HW) -> np.ndarray:
    """Apply a map from :func:`quad_matrix` (bilinear, edges replicated)."""
    h, w = size_hw
    return cv2.warpPerspective(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def warp(img: np.ndarray, corners: np.ndarray, size_hw: tuple[int, int] = CANONICAL_HW) -> np.ndarray:
    """Perspective-warp the quad ``corners`` (TL, TR, BR, BL) to an upright ``size_hw`` crop."""
    return warp_matrix(img, quad_matrix(corners, size_hw), size_hw)
