"""Card geometry shared by the catalogue, the photo simulator, detection and the models.

A Pokemon card is 63 x 88 mm. The canonical crop is the card rectified to 252 x 352 px
(4 px per mm, portrait): processed catalogue images, simulated training crops and the
detector's warp all produce exactly this, so training and the device see the same thing.
"""

from __future__ import annotations

CARD_MM = (63.0, 88.0)  # width, height
CARD_ASPECT = CARD_MM[0] / CARD_MM[1]  # width / height = 0.716
CANONICAL_W = 252
CANONICAL_H = 352
CANONICAL_HW = (CANONICAL_H, CANONICAL_W)
# the canonical crop's corners (x, y), clockwise from top-left: the order detection gives
CANONICAL_CORNERS = ((0, 0), (CANONICAL_W, 0), (CANONICAL_W, CANONICAL_H), (0, CANONICAL_H))
