"""Build the reference DB under a root's ``data/reference/`` (see :mod:`pokecard.reference`).

One layer above the recognizer: the build ends by calibrating the unknown thresholds, which
runs the recognizer on the DB just written (:mod:`pokecard.reference.calibrate`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pokecard import __version__, layout
from pokecard.card import CANONICAL_HW, CANONICAL_W
from pokecard.catalog.build import load_processed
from pokecard.catalog.model import Catalog, read_image
from pokecard.embed import create_embedder
from pokecard.embed.base import Embedder
from pokecard.errors import ReferenceDBError
from pokecard.features import FeatureConfig, KeypointDB, LayoutDescriptor, orb_features
from pokecard.model_files import resolve_model
from pokecard.progress import progress as progress_bar
from pokecard.progress import silenced
from pokecard.reference.calibrate import calibrate_reference
from pokecard.reference.manifest import DEFAULT_THRESHOLDS, FORMAT, MODES, ReferenceManifest, catalog_hash
from pokecard.reference.search import make_usearch, search_settings
from pokecard.store import Store, open_store, sha256_file

log = logging.getLogger(__name__)


def _catalog_images(catalog: Catalog) -> tuple[list[dict[str, Any]], Any]:
    """Card metadata and a generator of canonical crops (352 x 252 RGB) for a Catalog."""
    cards = [{k: v for k, v in c.as_dict().items() if k != "image" and v is not None} for c in catalog.cards]

    def crops():  # noqa: ANN202
        for c in catalog.cards:
            img = read_image(catalog.image_path(c))
            if img.shape[1] > img.shape[0]:
                img = np.ascontiguousarray(np.rot90(img, k=-1))
            if img.shape[:2] != CANONICAL_HW:
                interp = cv2.INTER_AREA if img.shape[0] > CANONICAL_HW[0] else cv2.INTER_CUBIC
                img = cv2.resize(img, (CANONICAL_W, CANONICAL_HW[0]), interpolation=interp)
            yield img

    return cards, crops


def build_reference(
    store: Store | str | os.PathLike[str],
    model: str | os.PathLike[str] | None = None,
    *,
    catalog: Catalog | None = None,
    mode: str = "auto",
    progress: bool = True,
    features: FeatureConfig | None = None,
    calibrate: bool = True,
    calibrate_with: str | os.PathLike[str] | None = None,
    calibration_photos: int = 120,
    backend: str = "auto",
) -> ReferenceManifest:
    """Build the reference DB under ``store``'s ``data/reference/`` and return its manifest.

    ``model`` None/"auto": the newest student ONNX under ``STUDENT_DIR`` that has a model
    card, else the training-free mode. ``catalog`` defaults to the processed catalogue of
    ``store`` (``pokecard catalog build``). ``calibrate`` sets the unknown thresholds from
    leave-one-out photos of the catalogue (plus the real out-of-catalogue photos in
    ``calibrate_with``) and records them in the manifest.
    """
    if mode not in MODES:
        raise ReferenceDBError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
    st = open_store(store)
    with silenced(not progress):
        cat = catalog if catalog is not None else load_processed(st)
        if not cat.cards:
            raise ReferenceDBError("the catalogue is empty: nothing to index")
        ids = [c.card_id for c in cat.cards]
        if len(set(ids)) != len(ids):
            dup = sorted({i for i in ids if ids.count(i) > 1})[:3]
            raise ReferenceDBError(f"duplicate card_id(s) in the catalogue: {', '.join(dup)}")

        resolved = None
        if mode in ("auto", "embedding"):
            resolved = resolve_model(st, None if model in (None, "auto") else model)
            if resolved is None and mode == "embedding":
                raise ReferenceDBError(
                    f"--mode embedding needs a model: none given and no student ONNX with a model card under {st.url}{layout.STUDENT_DIR}"
                )
        elif model not in (None, "auto"):
            raise ReferenceDBError("--mode training-free takes no --model")
        fcfg = features or FeatureConfig()

        cards, crops = _catalog_images(cat)
        if resolved is not None:
            embedder: Embedder = create_embedder(resolved.path, backend=backend)
            model_entry = {
                "key": resolved.key,
                "path": None if resolved.key else str(resolved.path),
                "file": resolved.path.name,
                "sha256": sha256_file(resolved.path),
                "name": embedder.card.name,
                "identity": embedder.card.identity(),
                "card": embedder.card.as_dict(),
            }
            db_mode = "embedding"
        else:
            embedder = LayoutDescriptor()
            model_entry = {
                "key": None,
                "path": None,
                "file": None,
                "sha256": None,
                "name": embedder.name,
                "identity": embedder.identity(),
                "card": None,
            }
            db_mode = "training-free"
        log.info("building a %s reference DB of %d cards", db_mode, len(cards))

        vecs, xs, ds, offs = [], [], [], [0]
        crops_h = hashlib.sha256()
        with progress_bar(len(cards), f"indexing ({db_mode})") as advance:
            batch: list[np.ndarray] = []
            for img in crops():
                crops_h.update(img.tobytes()[::97])
                xy, d = orb_features(img, fcfg.ref_features, fcfg.fast_threshold)
                xs.append(xy)
                ds.append(d)
                offs.append(offs[-1] + len(d))
                batch.append(img)
                if len(batch) == 32:
                    vecs.append(embedder.embed(batch))
                    batch = []
                advance(1)
            if batch:
                vecs.append(embedder.embed(batch))
        emb = np.ascontiguousarray(np.concatenate(vecs, axis=0), dtype=np.float32)
        kdb = KeypointDB(np.concatenate(xs), np.concatenate(ds), np.array(offs), fcfg)
        search = search_settings(len(cards))
        manifest = {
            "format": FORMAT,
            "mode": db_mode,
            "model": model_entry,
            "embedding_dim": int(emb.shape[1]),
            "metric": "cos",
            "dtype": "f32",
            "count": len(cards),
            "catalog": {
                "name": cat.name,
                "count": len(cards),
                "hash": catalog_hash(cards, crops_h.hexdigest()),
            },
            "search": search,
            "features": fcfg.as_dict(),
            "keypoints": int(len(kdb.desc)),
            "thresholds": dict(DEFAULT_THRESHOLDS),
            "calibration": {"method": "default", "note": "not calibrated on this catalogue"},
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "code_version": __version__,
        }
        _write(st, emb, ids, cards, kdb, manifest)
        if calibrate:
            cal = calibrate_reference(st, cat, ooc_dir=calibrate_with, n=calibration_photos, backend=backend)
            manifest["thresholds"] = cal["thresholds"]
            manifest["calibration"] = cal
            st.put_json(layout.REFERENCE_MANIFEST, manifest)
        return ReferenceManifest(manifest)


def _write(
    st: Store,
    emb: np.ndarray,
    ids: list[str],
    cards: list[dict[str, Any]],
    kdb: KeypointDB,
    manifest: dict[str, Any],
) -> None:
    buf = io.BytesIO()
    np.save(buf, emb, allow_pickle=False)
    idx = make_usearch(emb, dtype=manifest["search"]["dtype"], hnsw=manifest["search"])
    with tempfile.TemporaryDirectory() as d, st.batch():
        # the manifest goes first as "building" so a crash midway is never read as a DB
        if st.exists(layout.REFERENCE_MANIFEST):
            st.delete(layout.REFERENCE_MANIFEST, dry_run=False)
        st.put_bytes(layout.REFERENCE_EMBEDDINGS, buf.getvalue())
        p = Path(d) / "usearch.index"
        idx.save(str(p))
        st.put_file(layout.REFERENCE_USEARCH, p)
        st.put_json(layout.REFERENCE_INDEX, {"card_ids": ids})
        st.put_json(layout.REFERENCE_METADATA, {"cards": cards})
        st.put_bytes(layout.REFERENCE_KEYPOINTS, kdb.to_bytes())
        manifest["files"] = {
            k: (st.recorded(k) or {}).get("sha256")
            for k in (
                layout.REFERENCE_EMBEDDINGS,
                layout.REFERENCE_USEARCH,
                layout.REFERENCE_INDEX,
                layout.REFERENCE_METADATA,
                layout.REFERENCE_KEYPOINTS,
            )
        }
        st.put_json(layout.REFERENCE_MANIFEST, manifest)
