"""The name bar check: does the photo show the candidate's name where the candidate has it?

A card printed with the same art as another but under another name is matched by its art
twin's keypoints; when the twin is the only one of the two in the DB, nothing in the inliers
tells them apart (docs/scale.md, "Fourth round"). The name's pixels do: the bar above the art
is taken from the photo through the verified homography and correlated with the same bar of
the candidate's catalogue image (docs/recognizer.md, "Unknown: the name bar").
"""

from __future__ import annotations

import numpy as np

from pokecard.card import CANONICAL_HW

# The name bar of the canonical card: rows and columns as shares of its height and width
# (the name and HP line of the generated and the real layouts; no art, no set symbol).
BAR = (0.055, 0.105, 0.06, 0.62)
# Pixels of homography error the correlation absorbs (the best of the shifts up to this).
SHIFT_PX = 4
# Both bars are blurred alike: the photo's is softer than the catalogue's.
BLUR_SIGMA = 0.8
# A bar with less contrast than this (grey levels, standard deviation) has nothing to read.
MIN_STD = 4.0


def box() -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) of the bar in canonical pixels."""
    rh, rw = CANONICAL_HW
    y0, y1, x0, x1 = BAR
    return int(y0 * rh), int(y1 * rh), int(x0 * rw), int(x1 * rw)


def _gray(img: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else np.asarray(img)


def strip_of(card_rgb: np.ndarray) -> np.ndarray:
    """The name bar of a canonical card image (uint8 gray, :func:`box` sized)."""
    import cv2

    rh, rw = CANONICAL_HW
    img = np.asarray(card_rgb)
    if img.shape[:2] != (rh, rw):
        img = cv2.resize(img, (rw, rh), interpolation=cv2.INTER_AREA)
    y0, y1, x0, x1 = box()
    return np.ascontiguousarray(_gray(img)[y0:y1, x0:x1], dtype=np.uint8)


def to_photo(corners: np.ndarray, crop_hw: tuple[int, int], H: np.ndarray) -> np.ndarray:
    """Reference -> photo homography: ``H`` (reference -> crop) composed with the crop's
    warp back into the photo (the detection's ``corners`` -> the crop's frame)."""
    import cv2

    h, w = crop_hw
    dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    to_crop = cv2.getPerspectiveTransform(np.asarray(corners, np.float32), dst)
    return np.linalg.inv(to_crop) @ np.asarray(H, np.float64)


def name_score(photo: np.ndarray, H: np.ndarray, strip: np.ndarray) -> float | None:
    """Normalized cross-correlation (best over shifts of up to ``SHIFT_PX``) of the photo's
    name bar, seen through ``H`` (reference -> photo), with the candidate's ``strip``; None
    when the candidate's bar is too flat to read (nothing then speaks against it)."""
    import cv2

    ref = np.asarray(strip, np.float32)
    if ref.size == 0 or float(ref.std()) < MIN_STD:
        return None
    y0, y1, x0, x1 = box()
    m = SHIFT_PX
    shift = np.array([[1, 0, x0 - m], [0, 1, y0 - m], [0, 0, 1]], np.float64)
    size = (x1 - x0 + 2 * m, y1 - y0 + 2 * m)
    try:
        q = cv2.warpPerspective(  # the bar alone, then gray: not the whole photo (2 ms at 1 MP)
            np.asarray(photo),
            np.asarray(H, np.float64) @ shift,
            size,
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )
    except cv2.error:
        return 0.0
    a = cv2.GaussianBlur(_gray(q).astype(np.float32), (0, 0), BLUR_SIGMA)
    b = cv2.GaussianBlur(ref, (0, 0), BLUR_SIGMA)
    r = cv2.matchTemplate(a, b, cv2.TM_CCOEFF_NORMED)
    best = float(np.nanmax(r)) if np.isfinite(r).any() else 0.0
    return max(-1.0, min(1.0, best))
