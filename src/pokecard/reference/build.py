"""Build the reference DB under a root's ``data/reference/`` (see :mod:`pokecard.reference`).

One layer above the recognizer: the build ends by calibrating the unknown thresholds, which
runs the recognizer on the DB just written (:mod:`pokecard.reference.calibrate`).

The build is incremental: a card whose image, model and feature settings are those of the
DB already there keeps its embedding and keypoints, and only the template flags that a
change touches are recomputed (:mod:`pokecard.template`), so the result equals a full
rebuild. The new files are written beside the old ones and switched in at once
(:mod:`pokecard.reference.publish`); docs/scale.md has the costs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import resource
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import cv2
import numpy as np

from pokecard import __version__, layout, namebar
from pokecard.card import CANONICAL_HW, CANONICAL_W
from pokecard.catalog.build import load_processed
from pokecard.catalog.model import Card, Catalog, read_image
from pokecard.embed import create_embedder
from pokecard.embed.base import Embedder
from pokecard.errors import ReferenceDBError
from pokecard.features import FeatureConfig, LayoutDescriptor, orb_features
from pokecard.model_files import resolve_model
from pokecard.progress import progress as progress_bar
from pokecard.progress import silenced
from pokecard.reference.calibrate import calibrate_reference
from pokecard.reference.manifest import DEFAULT_THRESHOLDS, FORMAT, MODES, ReferenceManifest, catalog_hash
from pokecard.reference.previous import Previous, load_previous
from pokecard.reference.publish import publish
from pokecard.reference.search import make_usearch, search_settings
from pokecard.store import Store, open_store, sha256_file
from pokecard.template import ART_DIM, TemplateFlagger, art_signature, in_sample, related_cards, sample_rate
from pokecard.votes import VoteIndex

log = logging.getLogger(__name__)
EMBED_BATCH = 32


def canonical_crop(catalog: Catalog, card: Card) -> np.ndarray:
    """A catalogue card as the 352 x 252 RGB canonical crop the DB describes."""
    img = read_image(catalog.image_path(card))
    if img.shape[1] > img.shape[0]:
        img = np.ascontiguousarray(np.rot90(img, k=-1))
    if img.shape[:2] != CANONICAL_HW:
        interp = cv2.INTER_AREA if img.shape[0] > CANONICAL_HW[0] else cv2.INTER_CUBIC
        img = cv2.resize(img, (CANONICAL_W, CANONICAL_HW[0]), interpolation=interp)
    return img


def build_reference(  # noqa: PLR0913 - one keyword per `index build` option
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
    incremental: bool = True,
    carry_calibration: bool = False,
) -> ReferenceManifest:
    """Build the reference DB under ``store``'s ``data/reference/`` and return its manifest.

    ``model`` None/"auto": the newest student ONNX under ``STUDENT_DIR`` that has a model
    card, else the training-free mode. ``catalog`` defaults to the processed catalogue of
    ``store`` (``pokecard catalog build``). ``calibrate`` sets the unknown thresholds from
    leave-one-out photos of the catalogue (plus the real out-of-catalogue photos in
    ``calibrate_with``) and records them in the manifest. ``incremental``: reuse what the
    DB already there has for unchanged cards (the manifest's ``build`` says how many).
    ``carry_calibration``: keep the previous DB's calibrated thresholds instead of calibrating
    again while the cards changed since that calibration stay within ``CARRY_SHARE`` of it
    (:func:`carried_calibration`).
    """
    if mode not in MODES:
        raise ReferenceDBError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
    st = open_store(store)
    t0 = time.perf_counter()
    with silenced(not progress):
        cat = catalog if catalog is not None else load_processed(st)
        if not cat.cards:
            raise ReferenceDBError("the catalogue is empty: nothing to index")
        ids = [c.card_id for c in cat.cards]
        if len(set(ids)) != len(ids):
            dup = sorted({i for i in ids if ids.count(i) > 1})[:3]
            raise ReferenceDBError(f"duplicate card_id(s) in the catalogue: {', '.join(dup)}")
        embedder, model_entry, db_mode = _embedder(st, model, mode, backend)
        fcfg = features or FeatureConfig()
        log.info("building a %s reference DB of %d cards", db_mode, len(ids))
        times: dict[str, float] = {}
        clock = _Clock(times)

        cards = [{k: v for k, v in c.as_dict().items() if k != "image" and v is not None} for c in cat.cards]
        shas = [sha256_file(cat.image_path(c)) for c in cat.cards]
        prev = load_previous(st, db_mode, model_entry.get("sha256"), fcfg) if incremental else None
        reuse = prev.rows_for(ids, shas) if prev else np.full(len(ids), -1)
        clock("plan")

        emb, art, names, xy, desc, offsets = _describe(cat, embedder, fcfg, reuse, prev, clock)
        search = search_settings(len(ids))
        index = make_usearch(emb, dtype=search["dtype"], hnsw=search)
        clock("vector index")
        common, parts = _template(
            (xy, desc, offsets), ids, cards, (emb, art), index, search, fcfg, reuse, prev
        )
        clock("template flags")
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
                "hash": catalog_hash(cards, hashlib.sha256("".join(shas).encode()).hexdigest()),
            },
            "search": search,
            "features": fcfg.as_dict(),
            "keypoints": int(len(desc)),
            "thresholds": dict(DEFAULT_THRESHOLDS),
            "calibration": {"method": "default", "note": "not calibrated on this catalogue"},
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "code_version": __version__,
        }
        # only from a DB this build reuses (same mode, model and features)
        carried = (
            None if prev is None else carried_calibration(prev.manifest, _changes(prev, ids, reuse), len(ids))
        )
        if calibrate and carry_calibration and carried is not None:
            manifest["thresholds"], manifest["calibration"] = carried
            calibrate = False
        lsh = fcfg.lsh
        votes = VoteIndex.build(desc, np.ones(len(desc), bool), lsh["table_number"], lsh["key_size"])
        clock("vote index")
        keypoints = {
            "xy": xy,
            "desc": desc,
            "offsets": offsets,
            "common": common,
            "name_strip": names,
            **parts,
            **votes.arrays(),
        }
        publish(st, emb, index, ids, shas, cards, keypoints, manifest)
        clock("write")
        if calibrate:
            cal = calibrate_reference(st, cat, ooc_dir=calibrate_with, n=calibration_photos, backend=backend)
            manifest["thresholds"] = cal["thresholds"]
            manifest["calibration"] = cal
            clock("calibration")
        manifest["build"] = {
            "seconds": {k: round(v, 2) for k, v in times.items()},
            "total_seconds": round(time.perf_counter() - t0, 2),
            "cards_reused": int((reuse >= 0).sum()),
            "cards_described": int((reuse < 0).sum()),
            "previous_cards": len(prev.ids) if prev else 0,
            **_changes(prev, ids, reuse),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
        st.put_json(layout.REFERENCE_MANIFEST, manifest)
        return ReferenceManifest(manifest)


# An update keeps the calibrated thresholds while the cards added, removed or changed since the
# calibration are at most this share of the catalogue it was calibrated on (docs/scale.md).
CARRY_SHARE = 0.05


def carried_calibration(
    prev: dict[str, Any] | None, change: dict[str, int], cards: int
) -> tuple[dict[str, float], dict[str, Any]] | None:
    """The previous DB's thresholds and calibration record, carried over this change, when it
    was calibrated (or carried) and the cards changed since its calibration, this change
    included, stay within ``CARRY_SHARE`` of the cards it was calibrated on; else None."""
    if not prev or not ReferenceManifest(prev).calibrated or "thresholds" not in prev:
        return None
    cal = dict(prev.get("calibration") or {})
    since = dict(
        cal.pop("carried", None) or {"calibrated_cards": int(prev.get("count") or 0), "changed_cards": 0}
    )
    since["changed_cards"] += int(
        change.get("added", 0) + change.get("removed", 0) + change.get("changed", 0)
    )
    if since["calibrated_cards"] <= 0 or since["changed_cards"] > CARRY_SHARE * since["calibrated_cards"]:
        return None
    since |= {"cards": cards, "rule": f"changed cards <= {CARRY_SHARE:.0%} of the calibrated catalogue"}
    return dict(prev["thresholds"]), cal | {"carried": since}


def _changes(prev: Previous | None, ids: list[str], reuse: np.ndarray) -> dict[str, int]:
    """Cards added, removed and changed (same id, other image) since the previous DB."""
    if prev is None:
        return {"added": len(ids), "removed": 0, "changed": 0}
    old = set(prev.ids)
    new = set(ids)
    changed = sum(1 for i, r in zip(ids, reuse, strict=True) if r < 0 and i in old)
    return {"added": len(new - old), "removed": len(old - new), "changed": changed}


class _Clock:
    """Seconds per build stage, in order."""

    def __init__(self, times: dict[str, float]) -> None:
        self.times = times
        self.t = time.perf_counter()

    def __call__(self, stage: str) -> None:
        now = time.perf_counter()
        self.times[stage] = self.times.get(stage, 0.0) + now - self.t
        self.t = now


def _embedder(
    st: Store, model: str | os.PathLike[str] | None, mode: str, backend: str
) -> tuple[Embedder | LayoutDescriptor, dict[str, Any], str]:
    resolved = None
    if mode in ("auto", "embedding"):
        resolved = resolve_model(st, None if model in (None, "auto") else model)
        if resolved is None and mode == "embedding":
            raise ReferenceDBError(
                f"--mode embedding needs a model: none given and no student ONNX with a model card under {st.url}{layout.STUDENT_DIR}"
            )
    elif model not in (None, "auto"):
        raise ReferenceDBError("--mode training-free takes no --model")
    if resolved is None:
        lay = LayoutDescriptor()
        entry = {"key": None, "path": None, "file": None, "sha256": None, "name": lay.name,
                 "identity": lay.identity(), "card": None}  # fmt: skip
        return lay, entry, "training-free"
    embedder = create_embedder(resolved.path, backend=backend)
    entry = {
        "key": resolved.key,
        "path": None if resolved.key else str(resolved.path),
        "file": resolved.path.name,
        "sha256": sha256_file(resolved.path),
        "name": embedder.card.name,
        "identity": embedder.card.identity(),
        "card": embedder.card.as_dict(),
    }
    return embedder, entry, "embedding"


def _describe(
    cat: Catalog,
    embedder: Embedder | LayoutDescriptor,
    fcfg: FeatureConfig,
    reuse: np.ndarray,
    prev: Previous | None,
    clock: _Clock,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Embeddings, art signatures, ORB keypoints and name bars of every card: the previous
    DB's rows where reusable."""
    todo = [i for i in range(len(cat.cards)) if reuse[i] < 0]
    new_emb: dict[int, np.ndarray] = {}
    new_kp: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    art = np.zeros((len(cat.cards), ART_DIM), np.float32)
    y0, y1, x0, x1 = namebar.box()
    names = np.zeros((len(cat.cards), y1 - y0, x1 - x0), np.uint8)

    def one(i: int) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
        img = canonical_crop(cat, cat.cards[i])
        xy, d = orb_features(img, fcfg.ref_features, fcfg.fast_threshold)
        art[i] = art_signature(img)
        names[i] = namebar.strip_of(img)
        return i, img, xy, d

    with progress_bar(len(todo), "describing cards") as advance, ThreadPoolExecutor(2) as pool:
        # decoding and ORB run in threads (OpenCV releases the GIL); the embedder batches here
        batch: list[tuple[int, np.ndarray]] = []
        for i, img, xy, d in pool.map(one, todo):
            new_kp[i] = (xy, d)
            batch.append((i, img))
            if len(batch) == EMBED_BATCH:
                _embed_batch(embedder, batch, new_emb)
                batch = []
            advance(1)
        if batch:
            _embed_batch(embedder, batch, new_emb)
    clock("describe")
    dim = next(iter(new_emb.values())).shape[0] if new_emb else prev.emb.shape[1]  # type: ignore[union-attr]
    emb = np.zeros((len(cat.cards), dim), np.float32)
    xs, ds = [], []
    for i in range(len(cat.cards)):
        if reuse[i] >= 0:
            assert prev is not None
            emb[i] = prev.emb[reuse[i]]
            art[i] = prev.kp["art_sig"][reuse[i]]
            names[i] = prev.kp["name_strip"][reuse[i]]
            xy, d = prev.card(int(reuse[i]))
        else:
            emb[i] = new_emb[i]
            xy, d = new_kp[i]
        xs.append(xy)
        ds.append(d)
    offsets = np.concatenate([[0], np.cumsum([len(d) for d in ds])]).astype(np.int64)
    return (
        np.ascontiguousarray(emb),
        art,
        names,
        np.concatenate(xs).astype(np.float32),
        np.concatenate(ds).astype(np.uint8),
        offsets,
    )


def _embed_batch(
    embedder: Embedder | LayoutDescriptor, batch: list[tuple[int, np.ndarray]], out: dict[int, np.ndarray]
) -> None:
    vecs = embedder.embed([img for _, img in batch])
    for (i, _), v in zip(batch, vecs, strict=True):
        out[i] = np.asarray(v, np.float32)


def neighbours(emb: np.ndarray, index: Any, k: int, exact: bool) -> np.ndarray:
    """The ``k`` nearest other cards of every card (rows; -1 where there are fewer)."""
    n = len(emb)
    if n < 2 or k <= 0:
        return np.full((n, 0), -1, np.int64)
    kk = min(n, k + 1)
    m = index.search(emb, kk, exact=exact, threads=0)
    keys = np.asarray(m.keys).astype(np.int64).reshape(n, -1)
    out = np.full((n, k), -1, np.int64)
    for i in range(n):
        row = [int(j) for j in keys[i] if 0 <= j < n and j != i][:k]
        out[i, : len(row)] = row
    return out


def art_neighbours(art: np.ndarray, k: int, cosine: float, search: dict[str, Any]) -> np.ndarray:
    """The ``k`` nearest other cards by art signature at cosine >= ``cosine`` (-1 elsewhere)."""
    if len(art) < 2 or k <= 0:
        return np.full((len(art), 0), -1, np.int64)
    idx = make_usearch(art, dtype="f32", hnsw=search)
    near = neighbours(art, idx, k, bool(search["exact"]))
    cos = np.einsum("ij,ikj->ik", art, art[np.maximum(near, 0)])
    near[cos < cosine] = -1
    return near


def _template(
    kps: tuple[np.ndarray, np.ndarray, np.ndarray],
    ids: list[str],
    cards: list[dict[str, Any]],
    vectors: tuple[np.ndarray, np.ndarray],
    index: Any,
    search: dict[str, Any],
    fcfg: FeatureConfig,
    reuse: np.ndarray,
    prev: Previous | None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Template flags (sample part | related part) and what an update needs to redo them."""
    xy, desc, offsets = kps
    emb, art = vectors
    tc = fcfg.template()
    flagger = TemplateFlagger(xy, desc, offsets, tc)
    rate = sample_rate(len(ids), tc.sample)
    sample = in_sample(ids, rate)
    near = np.hstack([
        neighbours(emb, index, tc.neighbours, bool(search["exact"])),
        art_neighbours(art, tc.art_neighbours, tc.art_cosine, search),
    ])  # fmt: skip
    related = related_cards(
        near,
        [str(c.get("name", "")) for c in cards],
        emb,
        tc.same_name,
    )
    # the two parts are independent, and their numpy and BLAS work releases the GIL: one a core
    with ThreadPoolExecutor(2) as pool:
        sampled = pool.submit(_sample_counts, flagger, sample, rate, reuse, prev)
        counts_r, redone = _related_counts(flagger, related, reuse, prev)
        counts_s = sampled.result()
    log.info(
        "template flags: sample of %d cards (rate %g), %d cards' related part redone",
        sample.sum(),
        rate,
        redone,
    )
    rel_offsets = np.concatenate([[0], np.cumsum([len(r) for r in related])]).astype(np.int64)
    rel_rows = np.concatenate(related) if related else np.zeros(0, np.int64)
    parts = {
        "sample_counts": counts_s,
        "related_counts": counts_r,
        "related_offsets": rel_offsets,
        "related_rows": rel_rows.astype(np.int64),
        "sample_rate": np.array([rate], np.float64),
        "art_sig": art,
    }
    return (counts_s > 0) | (counts_r > 0), parts


def _sample_counts(
    flagger: TemplateFlagger, sample: np.ndarray, rate: float, reuse: np.ndarray, prev: Previous | None
) -> np.ndarray:
    """The sample part: a kept card's counts are the previous ones plus the cards that joined
    the sample, less those that left it (exactly a full rebuild's); new cards are counted in full."""
    if prev is None or prev.sample_rate != rate:
        return flagger.sample_counts(sample)
    kept = reuse >= 0
    counts = flagger.sample_counts(sample, rows=np.flatnonzero(~kept))
    kept_rows = np.flatnonzero(kept)
    if len(kept_rows) == 0:
        return counts
    kps = flagger.keypoints_of(kept_rows)
    counts[kps] = prev.sample_counts_of(reuse[kept_rows])
    joined = np.flatnonzero(sample & ~kept)
    if len(joined):
        counts[kps] += flagger.counts_against(kps, flagger.points(joined))
    left = prev.sample_lost(reuse)
    if len(left):
        counts[kps] -= flagger.counts_against(kps, prev.points(left, flagger.cfg))
    return counts


def _related_counts(
    flagger: TemplateFlagger, related: list[np.ndarray], reuse: np.ndarray, prev: Previous | None
) -> tuple[np.ndarray, int]:
    """The related part, and how many cards were counted in full: a kept card's counts are the
    previous ones plus its new related cards, less those it no longer has."""
    if prev is None:
        return flagger.related_counts(related), len(related)
    counts = np.zeros(len(flagger.desc), np.int32)
    redo = []
    for i in range(len(related)):
        if reuse[i] < 0:
            redo.append(i)
            continue
        a, b = flagger.offsets[i], flagger.offsets[i + 1]
        c = prev.related_counts_of(int(reuse[i])).astype(np.int32)
        added, lost = prev.related_change(int(reuse[i]), related[i], reuse)
        if len(added):
            c += flagger.counts_against(np.arange(a, b), flagger.points(added))
        if len(lost):
            c -= flagger.counts_against(np.arange(a, b), prev.points(lost, flagger.cfg))
        counts[a:b] = c
    if redo:
        counts += flagger.related_counts(related, rows=redo)
    return counts, len(redo)


def update_reference(
    store: Store | str | os.PathLike[str],
    *,
    catalog: Catalog | None = None,
    progress: bool = True,
    calibrate: bool = True,
    calibrate_with: str | os.PathLike[str] | None = None,
    backend: str = "auto",
    carry_calibration: bool = True,
) -> ReferenceManifest:
    """Bring the DB under ``store`` up to date with its catalogue (``pokecard index update``).

    The DB must exist: its mode, model and feature settings are kept, so only the cards that
    were added or changed are described and only the template flags they touch are redone
    (the result equals a full rebuild; tests/reference/test_update.py). The calibrated
    thresholds are carried over a small change (``carry_calibration``, :func:`carried_calibration`)."""
    st = open_store(store)
    if not st.exists(layout.REFERENCE_MANIFEST):
        raise ReferenceDBError(
            f"{st.url}{layout.REFERENCE_MANIFEST}: no reference DB to update; run `pokecard index build` first"
        )
    man = st.get_json(layout.REFERENCE_MANIFEST)
    entry = man.get("model") or {}
    model = entry.get("key") or entry.get("path")
    if man.get("mode") == "embedding" and not model:
        raise ReferenceDBError(f"{st.url}{layout.REFERENCE_MANIFEST}: an embedding DB that names no model")
    features = FeatureConfig.from_dict(man["features"]) if man.get("features") else None
    return build_reference(
        st,
        model if man.get("mode") == "embedding" else None,
        catalog=catalog,
        mode=str(man.get("mode")),
        progress=progress,
        features=features,
        calibrate=calibrate,
        calibrate_with=calibrate_with,
        backend=backend,
        incremental=True,
        carry_calibration=carry_calibration,
        # as many calibration photos as the DB's last calibration had
        calibration_photos=int((man.get("calibration") or {}).get("photos") or 120),
    )
