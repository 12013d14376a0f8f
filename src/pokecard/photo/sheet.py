"""A contact sheet of simulated photos: what training and evaluation see, at a glance."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from pokecard import atomic
from pokecard.catalog.model import Catalog
from pokecard.photo.config import PhotoConfig
from pokecard.photo.render import simulate_crop, simulate_scene
from pokecard.photo.seeds import eval_seed, train_seed

_LABEL_H = 16


def _label(img: np.ndarray, text: str) -> np.ndarray:
    bar = np.full((_LABEL_H, img.shape[1], 3), 245, np.uint8)
    cv2.putText(bar, text, (4, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (20, 20, 20), 1, cv2.LINE_AA)
    return np.vstack([bar, img])


def _row(tiles: list[np.ndarray], width: int) -> np.ndarray:
    row = np.hstack(tiles)
    if row.shape[1] < width:
        row = np.pad(row, ((0, 0), (0, width - row.shape[1]), (0, 0)), constant_values=255)
    return row


def contact_sheet(
    catalogs: list[Catalog],
    out: str | Path,
    *,
    scenes_per_row: int = 4,
    crops_per_row: int = 8,
    seed: int = 0,
    colors: int = 256,
) -> Path:
    """For each catalogue: a row of eval scenes, a row of hard scenes, a row of training crops.

    Written as a small PNG to ``out`` (a 256-colour palette unless ``colors=0``).
    """
    tw, th = 224, 168  # scene tile (photos are 720 x 960, shown at 7/30)
    cw, ch = tw * scenes_per_row // crops_per_row, int(tw * scenes_per_row / crops_per_row * 352 / 252)
    width = tw * scenes_per_row
    blocks = []
    for cat in catalogs:
        rng = np.random.default_rng(seed)
        idx = rng.permutation(len(cat.cards))
        imgs = [cat.load_image(cat.cards[i]) for i in idx[: max(scenes_per_row * 2, crops_per_row) + 4]]
        others = imgs[-4:]
        for preset in ("eval", "hard"):
            cfg = PhotoConfig.preset(preset)
            tiles = []
            for k in range(scenes_per_row):
                j = k if preset == "eval" else k + scenes_per_row
                photo, _ = simulate_scene(imgs[j], eval_seed(int(idx[j]), seed), cfg, distractors=others)
                tiles.append(cv2.resize(photo, (tw, th), interpolation=cv2.INTER_AREA))
            blocks.append(_label(_row(tiles, width), f"{cat.name}: {preset} scenes (720x960)"))
        tiles = [
            cv2.resize(
                simulate_crop(imgs[k], train_seed(int(idx[k]), seed), PhotoConfig.train()),
                (cw, ch),
                interpolation=cv2.INTER_AREA,
            )
            for k in range(crops_per_row)
        ]
        blocks.append(_label(_row(tiles, width), f"{cat.name}: training crops (352x252 after rectification)"))
    sheet = np.vstack(blocks)
    path = Path(out)
    atomic.write_bytes(path, _png(sheet, colors))
    return path


def _png(img: np.ndarray, colors: int) -> bytes:
    """PNG bytes; with ``colors`` > 0 a dithered palette image (3-4x smaller, fine for a preview)."""
    import io

    from PIL import Image

    im = Image.fromarray(img)
    if colors:
        im = im.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG)
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=True)
    return buf.getvalue()
