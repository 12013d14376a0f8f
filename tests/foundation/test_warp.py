"""The one warp: a quad maps to the crop's outer corners (w, h), so the detector's crops and the
simulator's training crops are made the same way."""

from __future__ import annotations

import numpy as np

from pokecard.detect.geometry import warp as detector_warp
from pokecard.photo import rectify
from pokecard.warp import quad_matrix, warp


def test_an_axis_aligned_quad_of_the_crops_size_is_copied_exactly() -> None:
    img = np.random.default_rng(0).integers(0, 255, (120, 100, 3), dtype=np.uint8)
    h, w = 60, 40
    corners = np.array([[10, 20], [10 + w, 20], [10 + w, 20 + h], [10, 20 + h]], np.float32)
    # with the old (w - 1, h - 1) target this was a 2.5 % rescale, not a copy
    assert np.array_equal(warp(img, corners, (h, w)), img[20 : 20 + h, 10 : 10 + w])


def test_detector_and_simulator_share_the_warp() -> None:
    img = np.random.default_rng(1).integers(0, 255, (400, 300, 3), dtype=np.uint8)
    corners = np.array([[31.5, 22.0], [260.2, 40.7], [244.0, 371.3], [18.9, 350.0]], np.float32)
    assert detector_warp is warp
    assert np.array_equal(rectify(img, corners), warp(img, corners))
    m = quad_matrix(corners, (352, 252))
    mapped = (m @ np.c_[corners, np.ones(4)].T).T
    assert np.allclose(mapped[:, :2] / mapped[:, 2:], [[0, 0], [252, 0], [252, 352], [0, 352]], atol=1e-3)
