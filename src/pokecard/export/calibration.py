"""Crops for quantization, for int8 ONNX and for the Hailo HEF alike: simulated photos put
through the device's own detection, rectification and resize, so activations are calibrated
(and the quantized model checked) on what the deployed model is fed."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pokecard.catalog import Catalog
from pokecard.detect import detect, detect_fast
from pokecard.errors import ModelError
from pokecard.modelcard import ModelCard
from pokecard.photo import PhotoConfig, eval_seed, simulate_scene, train_seed
from pokecard.preprocess import resize_batch
from pokecard.progress import progress

# Seed offsets: calibration photos are training photos no trainer's pool reaches; the check
# photos are evaluation photos (they fit nothing, they only measure).
CALIBRATION_SEED_BASE = 1_000_000
CHECK_SEED_BASE = 500


def device_crop(rgb: np.ndarray, card: ModelCard) -> np.ndarray:
    """A photo as the device's recognizer turns it into model input: the cheap detection first
    (as Recognizer.score does), the full search when it finds nothing, rectified, resized."""
    det = detect_fast(rgb) or detect(rgb)
    return resize_batch([det.crop], card)[0]


def _crops(
    cat: Catalog, card: ModelCard, n: int, seed_of: Callable[[int, int], int], cfg: PhotoConfig, label: str
) -> np.ndarray:
    if not cat.cards:
        raise ModelError(f"{cat.root}: the catalogue has no cards to simulate {label} from")
    if n < 1:
        raise ModelError(f"{label}: asked for {n} photos; give at least 1")
    h, w = card.input_size
    out = np.empty((n, h, w, 3), np.uint8)
    images: dict[int, np.ndarray] = {}
    with progress(n, f"{label} (simulate, detect, rectify)") as advance:
        for i in range(n):
            ci = i % len(cat.cards)
            if ci not in images:
                images[ci] = cat.load_image(cat.cards[ci])
            photo, _ = simulate_scene(images[ci], seed_of(ci, i), cfg)
            out[i] = device_crop(photo, card)
            advance(1)
    return out


def calibration_crops(cat: Catalog, card: ModelCard, n: int, *, seed: int = 0) -> np.ndarray:
    """``n`` uint8 NHWC crops at the card's size from training-range photos (never an
    evaluation photo), cycling over the catalogue's cards."""
    base = CALIBRATION_SEED_BASE + seed * n
    return _crops(
        cat, card, n, lambda ci, i: train_seed(ci, base + i), PhotoConfig.train(), "calibration photos"
    )


def check_crops(cat: Catalog, card: ModelCard, n: int) -> np.ndarray:
    """``n`` held-out crops (evaluation seeds and preset) to check a quantized model against its source."""
    return _crops(
        cat, card, n, lambda ci, i: eval_seed(ci, CHECK_SEED_BASE + i), PhotoConfig.eval(), "check photos"
    )
