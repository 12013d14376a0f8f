"""`pokecard compare-backends A B`: the same detected, rectified cards embedded by two
backends (or two models of one card, e.g. ONNX float32 vs int8), compared.

Reports mean and min cosine between the two embeddings of each photo, and top-1 agreement:
how often both pick the same nearest card among the reference DB's rows.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from pokecard import layout
from pokecard.edge.backends import resolve_backend
from pokecard.embed import create_embedder
from pokecard.errors import ModelError, ReferenceDBError
from pokecard.export.calibration import device_crop
from pokecard.imageio import is_image_name, load_rgb
from pokecard.model_files import resolve_model
from pokecard.store import open_store


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``onnx`` | ``hailo:model.hef`` | ``onnx:float.onnx`` -> (backend, model or None)."""
    name, _, model = spec.partition(":")
    return name, model or None


def _photos(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += sorted(q for q in p.rglob("*") if q.is_file() and is_image_name(q))
        elif p.is_file():
            out.append(p)
        else:
            raise ModelError(f"{p}: no such photo or folder")
    if not out:
        raise ModelError(f"no photos in {', '.join(map(str, paths))}")
    return out


def compare_backends(root: str | os.PathLike[str], a: str, b: str, photos: list[Path]) -> dict[str, Any]:
    st = open_store(str(root))
    if not st.exists(layout.REFERENCE_MANIFEST):
        raise ReferenceDBError(
            f"{st.url}{layout.REFERENCE}: no reference DB; run `pokecard index build` first"
        )
    man = st.get_json(layout.REFERENCE_MANIFEST)
    db_model = (man.get("model") or {}).get("key") or (man.get("model") or {}).get("path")
    embedders = []
    for spec in (a, b):
        name, model = parse_spec(spec)
        resolved = resolve_model(st, model or db_model)
        if resolved is None:
            raise ModelError(f"{spec}: no model given and the reference DB names none (training-free DB)")
        embedders.append(create_embedder(resolved.path, backend=resolve_backend(name)))
    ea, eb = embedders
    if ea.dim != eb.dim:
        raise ModelError(f"{a} gives {ea.dim}-d vectors and {b} {eb.dim}-d: not two backends of one model")
    files = _photos(photos)
    crops = np.stack([device_crop(load_rgb(f), ea.card) for f in files])
    va, vb = ea.embed(crops), eb.embed(crops)
    cos = np.sum(va * vb, axis=1)
    gallery = np.load(io.BytesIO(st.get_bytes(layout.REFERENCE_EMBEDDINGS)), allow_pickle=False).astype(
        np.float32
    )
    if gallery.shape[1] != ea.dim:
        raise ReferenceDBError(f"the reference DB is {gallery.shape[1]}-d, the models {ea.dim}-d")
    top_a, top_b = np.argmax(va @ gallery.T, axis=1), np.argmax(vb @ gallery.T, axis=1)
    return {
        "a": f"{a} ({ea.backend}, {Path(ea.model_path).name})",
        "b": f"{b} ({eb.backend}, {Path(eb.model_path).name})",
        "photos": len(files),
        "cosine_mean": float(cos.mean()),
        "cosine_min": float(cos.min()),
        "top1_agreement": float(np.mean(top_a == top_b)),
    }
