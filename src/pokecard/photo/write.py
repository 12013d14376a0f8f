"""Write simulated photos of a catalogue to a folder with labels.json (for evaluation sets)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from pokecard import atomic
from pokecard.catalog.build import safe_name
from pokecard.catalog.model import Catalog, read_image
from pokecard.errors import ConfigError
from pokecard.photo.config import PhotoConfig
from pokecard.photo.render import simulate_crop_with_corners, simulate_scene
from pokecard.photo.seeds import eval_seed, photo_k, train_seed
from pokecard.progress import progress

log = logging.getLogger(__name__)

LABELS_FILE = "labels.json"
KINDS = ("scene", "crop")
SPLITS = ("eval", "train")
JPEG_QUALITY = 95
_POOL = 24  # distractor cards are drawn from a fixed pool of this many catalogue cards


def _jpeg(img: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
    )
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


def _job(args: tuple[Any, ...]) -> tuple[str, dict[str, Any]]:
    root, card_dict, img_path, seed, cfg, kind, out, fname, pool_paths, size = args

    card = read_image(img_path)
    if kind == "scene":
        rng = np.random.default_rng([seed, 99])
        others = [p for p in pool_paths if p != img_path]
        pick = [others[i] for i in rng.permutation(len(others))[:3]] if others else []
        distractors = [_cached(p) for p in pick]
        img, corners = simulate_scene(card, seed, cfg, size=size, distractors=distractors)
        label = {
            "card_id": card_dict["card_id"],
            "corners": corners.astype(np.float64).round(2).tolist(),
            "seed": seed,
        }
    else:
        img, corners, flipped = simulate_crop_with_corners(card, seed, cfg)
        label = {
            "card_id": card_dict["card_id"],
            "corners": corners.astype(np.float64).round(2).tolist(),
            "seed": seed,
            "rotated180": flipped,
        }
    atomic.write_bytes(Path(out) / fname, _jpeg(img))
    return fname, label


_IMG_CACHE: dict[str, np.ndarray] = {}


def _cached(path: str) -> np.ndarray:
    img = _IMG_CACHE.get(path)
    if img is None:
        img = read_image(path)
        _IMG_CACHE[path] = img
    return img


def check_request(kind: str, split: str, per_card: int) -> None:
    """The photo kind, split and count a request may ask for (before anything is loaded)."""
    if kind not in KINDS:
        raise ConfigError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    if split not in SPLITS:
        raise ConfigError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    if per_card < 1:
        raise ConfigError(f"photos per card must be at least 1, got {per_card}")


def write_photos(
    catalog: Catalog,
    per_card: int,
    out: str | Path,
    seed: int,
    config: PhotoConfig | None = None,
    *,
    kind: str = "scene",
    split: str = "eval",
    size: tuple[int, int] = (720, 960),
    workers: int | None = None,
) -> Path:
    """Write ``per_card`` photos of every card to ``out`` + labels.json; returns the labels path.

    labels.json maps each file name to ``{card_id, corners, seed}``: ``corners`` are the
    card's TL, TR, BR, BL (as in the scan) in the image's pixels. Photo seeds come from
    :func:`eval_seed` (``split="eval"``, the default: held-out, never used by training) or
    :func:`train_seed`, with ``k = photo_k(seed, j)`` so different ``seed`` batches differ.
    """
    check_request(kind, split, per_card)
    cfg = config or (PhotoConfig.eval() if split == "eval" else PhotoConfig.train())
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    seed_fn = eval_seed if split == "eval" else train_seed
    pool = [str(catalog.image_path(c)) for c in catalog.cards[:: max(1, len(catalog.cards) // _POOL)][:_POOL]]
    jobs = []
    for i, card in enumerate(catalog.cards):
        for j in range(per_card):
            s = seed_fn(i, photo_k(seed, j))
            fname = f"{_safe(card.card_id)}__{j:03d}.jpg"
            jobs.append(
                (
                    str(catalog.root),
                    card.as_dict(),
                    str(catalog.image_path(card)),
                    s,
                    cfg,
                    kind,
                    str(out),
                    fname,
                    pool,
                    tuple(size),
                )
            )
    labels: dict[str, Any] = {}
    n_workers = workers if workers is not None else min(4, os.cpu_count() or 1)
    with progress(len(jobs), f"writing {kind} photos") as advance:
        for fname, label in _run(jobs, n_workers):
            labels[fname] = label
            advance(1)
    path = out / LABELS_FILE
    atomic.write_json(path, dict(sorted(labels.items())))
    log.info("wrote %d %s photos of %d cards to %s", len(labels), kind, len(catalog.cards), out)
    return path


def _run(jobs: list[tuple[Any, ...]], workers: int) -> Iterator[tuple[str, dict[str, Any]]]:
    if workers <= 1 or len(jobs) < 8:
        yield from map(_job, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers) as ex:
        yield from ex.map(_job, jobs, chunksize=max(1, len(jobs) // (workers * 8)))


def _safe(card_id: str) -> str:
    return safe_name(card_id)
