"""What the detector returns and the knobs it runs with."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)


FALLBACK_CONFIDENCE = 0.2


@dataclass
class Detection:
    """Where the card is: ``corners`` (x, y) TL, TR, BR, BL in the photo, or the frame when not found."""

    corners: np.ndarray  # float32 [4, 2]
    crop: np.ndarray  # uint8 [CANONICAL_H, CANONICAL_W, 3]; the (resized) whole frame when not found
    found: bool
    confidence: float
    blank: bool = False  # nothing but a flat surface (no texture at all)


@dataclass
class DetectConfig:
    work_size: int = 512
    min_area: float = 0.04  # share of the frame
    aspect_tol: float = 0.2  # |short/long - 63/88| allowed (perspective)
    min_fill: float = 0.7  # contour area / quad area
    min_support: float = 0.45  # mean share of the four sides on an edge
    snap_radius: float = 0.018  # edge search across each side, share of the quad's diagonal
    # The scorer (detect.score): when a near edge search is good enough, how far a snapped
    # quad may move, and how much each flaw costs (score = support x area^0.5 x penalties).
    near_snap_px: int = 3  # the near search first: a wider one can jump to the printed border
    wide_snap_below: float = 1.4  # sup + weakest side under this: search wider
    settle_snap_px: int = 2  # after a wide search, settle on the edge found
    max_move: float = 0.1  # a snapped corner moves at most this share of the diagonal
    same_quad_px: float = 2.0  # quads this close are one quad
    aspect_weight: float = 0.5  # score x (1 - aspect_weight x aspect error / aspect_tol)
    centre_weight: float = 0.3  # x (1 - centre_weight x distance of the centre from the middle)
    tilt_weight: float = 0.3  # x (1 - tilt_weight x |sin| of the angle to upright)
    back_penalty: float = 0.5  # x this for a blue border band (a card back)
