"""Find the card in a photo and rectify it to the canonical crop (352 x 252, portrait).

Classical and training-free, so it runs the same on a Pi and needs no model:

1. work on a copy whose long side is ``work_size`` px (speed; corners are scaled back);
2. several binarizations (Canny edges at two sensitivities, closed; Otsu threshold and its
   inverse) give candidate outer contours;
3. each contour -> convex hull -> ``approxPolyDP`` at growing tolerance until it has four
   vertices (rounded corners and sleeves give a rounded hull; the 4-vertex approximation
   still finds the sides);
4. a quad is kept when it is convex, covers ``min_area`` of the frame, fills its hull, and
   its side ratio is near 63:88 (perspective allowed);
5. corners are refined by fitting a line to the contour points along each side and
   intersecting neighbouring lines, which puts them where the straight edges meet, not on
   the rounded corner; then each side is snapped to the strongest colour edge across it
   (``edges.Edges.snap``), and a quad that is a sleeve or a toploader around a card gives way to
   the card inside it;
6. quads are scored (area x aspect fit x edge support); a flat interior (a blank sheet) or a
   blue border band (a card back, ``score.back_border``) counts against a quad;
7. the best quad is warped to the canonical crop; the short side is on top, which leaves a
   180-degree ambiguity that the recognizer resolves.

:func:`detect_fast` is the cheap first look the recognizer tries before all of this: the
first binarization only, fitted sides, no edge snapping, card backs and blank sheets refused.

When no quad passes, :func:`detect` returns the whole frame as the crop with a low
confidence (``found=False``); the recognizer then decides between a match and ``no_card``.

The package, bottom up: ``config`` (Detection, DetectConfig), ``geometry``, ``edges``,
``candidates`` (steps 1-4), ``refine`` (sleeves, toploaders, the printed border), ``score``
(steps 5-6), ``api`` (the entry points).
"""

from __future__ import annotations

from pokecard.detect.api import detect, detect_all, detect_fast, fallback, find_card, find_cards
from pokecard.detect.config import FALLBACK_CONFIDENCE, DetectConfig, Detection
from pokecard.detect.geometry import corner_error, order_corners, portrait_corners, warp

__all__ = [
    "DetectConfig",
    "Detection",
    "FALLBACK_CONFIDENCE",
    "corner_error",
    "detect",
    "detect_all",
    "detect_fast",
    "fallback",
    "find_card",
    "find_cards",
    "order_corners",
    "portrait_corners",
    "warp",
]
