"""Photo simulation: catalogue scans -> camera-like photos (with corner ground truth) and
training crops as the device sees them. Every effect is seeded and switchable.

numpy + opencv only (no torch), so the Pi and the recognizer can import it.
"""

from __future__ import annotations

from pokecard.photo.config import EFFECTS, PhotoConfig
from pokecard.photo.props import card_back
from pokecard.photo.render import (
    SIMULATOR_VERSION,
    rectify,
    simulate_crop,
    simulate_crop_with_corners,
    simulate_scene,
)
from pokecard.photo.seeds import eval_seed, is_eval_seed, photo_k, train_seed
from pokecard.photo.write import LABELS_FILE, write_photos

__all__ = [
    "EFFECTS",
    "LABELS_FILE",
    "SIMULATOR_VERSION",
    "PhotoConfig",
    "card_back",
    "eval_seed",
    "is_eval_seed",
    "photo_k",
    "rectify",
    "simulate_crop",
    "simulate_crop_with_corners",
    "simulate_scene",
    "train_seed",
    "write_photos",
]
