"""The reference DB: one embedding (and one set of ORB keypoints) per catalogue card.

Files (keys from :mod:`pokecard.layout`), written atomically through the store:

* ``REFERENCE_EMBEDDINGS`` embeddings.npy  float32 [N, D], L2-normalized, row i = card i
* ``REFERENCE_USEARCH``    usearch.index   the same vectors in a usearch index (key = row)
* ``REFERENCE_INDEX``      index.json      {"card_ids": [row -> card_id]}
* ``REFERENCE_METADATA``   metadata.json   {"cards": [{card_id, name, set_code, set_name, number, rarity}]}
* ``REFERENCE_KEYPOINTS``  keypoints.npz   ORB keypoints of every card (geometric verification)
* ``REFERENCE_MANIFEST``   manifest.json   what built it and how to read it (written last)

Two modes. ``embedding``: the vectors come from an embedding model (an ONNX student with
its model card); the manifest records the model's key/path, sha256 and card identity and a
recognizer running any other model is refused. ``training-free``: no model; the vectors are
the :class:`~pokecard.features.LayoutDescriptor` and the shortlist comes from ORB descriptor
votes, so a real catalogue is recognizable with no training at all.

:meth:`ReferenceDB.load` validates everything (row counts, dims, model identity, keypoints)
and raises :class:`ReferenceDBError` with a message that says what to do.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pokecard import __version__, layout
from pokecard.card import CANONICAL_HW, CANONICAL_W
from pokecard.errors import ModelError, ObjectNotFound, PokecardError, ReferenceDBError
from pokecard.features import FeatureConfig, KeypointDB, LayoutDescriptor
from pokecard.store import sha256_file

log = logging.getLogger(__name__)

FORMAT = "pokecard-reference/1"
MODES = ("auto", "embedding", "training-free")
# Defaults chosen from the search sweep of `pokecard bench recognizer` (docs/recognizer.md,
# "Search engine choice"; 768-d, photo-like queries, recall@1 against numpy brute force):
# * f16: recall@1 1.0 wherever f32 has it; i8 is ~1.4x faster but even its exact search
#   missed a near-duplicate at 100,000 (0.998), which no expansion_search can repair.
# * exact search up to 2,000 cards (recall 1.0 by definition, no graph to get wrong).
# * HNSW M=16 above (M=8 lost recall, M=32 was 2x slower for nothing), expansion_search 64
#   up to 20,000 cards (1.0 at 17,592 in three runs; 32 was 1.0 too, 16 was 0.98) and 128
#   above (64 gave 0.99 at 100,000, 128 gave 1.0).
SEARCH_DTYPE = "f16"
EXACT_SEARCH_MAX = 2_000
HNSW = {"connectivity": 16, "expansion_add": 128, "expansion_search": 64}
EF_LARGE = (20_000, 128)  # above this many cards, this expansion_search
SERIAL_ADD = 20_000  # vectors added on one thread before the rest in parallel (see make_usearch)
# Until calibration runs, thresholds that the benchmark's leave-out calibration supports.
DEFAULT_THRESHOLDS = {"min_inliers": 12.0, "min_score": 0.5}


def search_settings(n: int) -> dict[str, Any]:
    """The default search for a reference DB of ``n`` cards (what the manifest's ``search`` records)."""
    ef = EF_LARGE[1] if n > EF_LARGE[0] else HNSW["expansion_search"]
    return {
        "metric": "cos",
        "dtype": SEARCH_DTYPE,
        "exact": n <= EXACT_SEARCH_MAX,
        **HNSW,
        "expansion_search": ef,
    }


def _open(store: Any) -> Any:
    from pokecard.store import Store, open_store

    return store if isinstance(store, Store) else open_store(store)


def _local_file(st: Any, key: str) -> Path:
    """A local path for ``key``: in place for a LocalStore, else a verified download to a cache."""
    from pokecard.store import LocalStore

    if isinstance(st, LocalStore):
        p = st.path(key)
        if not p.is_file():
            raise ObjectNotFound(f"{st.url}{key} does not exist")
        return p
    rec = st.recorded(key) or {}
    cache = Path(os.environ.get("POKECARD_CACHE", Path.home() / ".cache" / "pokecard")) / "objects"
    dest = (
        cache / (rec.get("sha256") or hashlib.sha256(f"{st.url}{key}".encode()).hexdigest()) / Path(key).name
    )
    if not dest.is_file():
        st.get_file(key, dest)
    return dest


def find_student(store: Any) -> str | None:
    """The newest student ONNX under STUDENT_DIR that has a model card beside it (store key)."""
    from pokecard.modelcard import ModelCard

    st = _open(store)
    found: list[tuple[str, str]] = []
    for obj in st.list(layout.STUDENT_DIR):
        if not obj.key.endswith("/" + layout.STUDENT_ONNX):
            continue
        folder = obj.key.rsplit("/", 1)[0]
        card_key = layout.model_card(folder)
        if not st.exists(card_key):
            continue
        try:
            created = ModelCard.from_dict(st.get_json(card_key), card_key).created
        except PokecardError as e:
            log.warning("skipping %s: %s", obj.key, e)
            continue
        found.append((created, obj.key))
    return max(found)[1] if found else None


@dataclass
class ResolvedModel:
    path: Path
    key: str | None  # store key when the model lives in the project root


def resolve_model(store: Any, model: str | os.PathLike[str] | None) -> ResolvedModel | None:
    st = _open(store)
    if model is None or str(model) == "auto":
        key = find_student(st)
        if key is None:
            return None
        model = key
    p = Path(model)
    if p.is_file():
        return ResolvedModel(path=p.resolve(), key=None)
    try:
        key = layout.validate_key(str(model))
    except PokecardError:
        key = None
    if key and st.exists(key):
        local = _local_file(st, key)
        folder = key.rsplit("/", 1)[0] if "/" in key else ""
        card_key = layout.model_card(folder) if folder else layout.MODEL_CARD
        if st.exists(card_key) and not local.with_name(layout.MODEL_CARD).is_file():
            _local_file_to(st, card_key, local.with_name(layout.MODEL_CARD))
        return ResolvedModel(path=local, key=key)
    raise ModelError(f"{model}: model not found (neither a file nor a key under {st.url})")


def _local_file_to(st: Any, key: str, dest: Path) -> None:
    st.get_file(key, dest)


def _catalog_images(catalog: Any) -> tuple[list[dict[str, Any]], Any]:
    """Card metadata and a generator of canonical crops (352 x 252 RGB) for a Catalog."""
    import cv2

    from pokecard.catalog.model import read_image

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


def catalog_hash(cards: list[dict[str, Any]], crops_sha: str) -> str:
    h = hashlib.sha256(json.dumps(cards, sort_keys=True).encode())
    h.update(crops_sha.encode())
    return h.hexdigest()


def _usearch_index():  # noqa: ANN202 - usearch class, imported lazily
    """usearch's Index class, with onnxruntime imported first.

    Importing onnxruntime after usearch has run a multi-threaded add segfaults (seen with
    usearch 2.26 + onnxruntime on this machine); loaded in this order both work.
    """
    import contextlib

    with contextlib.suppress(ImportError):
        import onnxruntime  # noqa: F401
    from usearch.index import Index

    return Index


def make_usearch(
    vectors: np.ndarray, dtype: str = "f32", metric: str = "cos", hnsw: dict[str, int] | None = None
) -> Any:
    Index = _usearch_index()  # noqa: N806

    hn = {**HNSW, **{k: int(v) for k, v in (hnsw or {}).items() if k in HNSW}}
    idx = Index(
        ndim=int(vectors.shape[1]),
        metric=metric,
        dtype=dtype,
        connectivity=hn["connectivity"],
        expansion_add=hn["expansion_add"],
        expansion_search=hn["expansion_search"],
    )
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    keys = np.arange(len(x), dtype=np.uint64)
    # The first SERIAL_ADD vectors go in on one thread: a parallel add into a small graph left
    # some nodes badly linked (HNSW then missed the true nearest card for about 1 query in 300
    # at 600 vectors, differently on each build); one thread builds the same graph every time.
    # Beyond that (big synthetic sets), the rest is added in parallel.
    head = min(len(x), SERIAL_ADD)
    if head:
        idx.add(keys[:head], x[:head], threads=1)
    if len(x) > head:
        idx.add(keys[head:], x[head:], threads=0)
    return idx


@dataclass
class ReferenceManifest:
    """The manifest as a record; ``as_dict()`` is what manifest.json holds."""

    data: dict[str, Any]

    def __getitem__(self, k: str) -> Any:
        return self.data[k]

    @property
    def mode(self) -> str:
        return self.data["mode"]

    @property
    def count(self) -> int:
        return int(self.data["count"])

    @property
    def thresholds(self) -> dict[str, float]:
        return dict(self.data.get("thresholds") or DEFAULT_THRESHOLDS)

    def as_dict(self) -> dict[str, Any]:
        return self.data


def build_reference(
    store: Any,
    model: str | os.PathLike[str] | None = None,
    *,
    catalog: Any = None,
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
    from pokecard import progress as progress_mod
    from pokecard.catalog.build import load_processed

    if mode not in MODES:
        raise ReferenceDBError(f"unknown mode {mode!r}: use one of {', '.join(MODES)}")
    st = _open(store)
    was = progress_mod._enabled
    if not progress:
        progress_mod.set_enabled(False)
    try:
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
            from pokecard.embed import create_embedder

            embedder: Any = create_embedder(resolved.path, backend=backend)
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
        from pokecard.features import orb_features

        with progress_mod.progress(len(cards), f"indexing ({db_mode})") as advance:
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
            from pokecard.recognize import calibrate_reference

            cal = calibrate_reference(st, cat, ooc_dir=calibrate_with, n=calibration_photos, backend=backend)
            manifest["thresholds"] = cal["thresholds"]
            manifest["calibration"] = cal
            st.put_json(layout.REFERENCE_MANIFEST, manifest)
        return ReferenceManifest(manifest)
    finally:
        progress_mod.set_enabled(was)


def _write(
    st: Any,
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


class ReferenceDB:
    """A loaded, validated reference DB."""

    def __init__(
        self,
        manifest: ReferenceManifest,
        embeddings: np.ndarray,
        index: Any,
        card_ids: list[str],
        cards: dict[str, dict[str, Any]],
        keypoints: KeypointDB,
        url: str,
    ) -> None:
        self.manifest = manifest
        self.embeddings = embeddings
        self.index = index
        self.card_ids = card_ids
        self.cards = cards
        self.keypoints = keypoints
        self.url = url
        s = manifest["search"]
        self.exact = bool(s.get("exact", True))
        self.index.expansion_search = int(s.get("expansion_search", HNSW["expansion_search"]))

    def __len__(self) -> int:
        return len(self.card_ids)

    @property
    def mode(self) -> str:
        return self.manifest.mode

    @classmethod
    def load(cls, store: Any, embedder: Any = None) -> ReferenceDB:
        """Load and validate; ``embedder`` (when given) must be the model that built the DB."""
        Index = _usearch_index()  # noqa: N806

        st = _open(store)
        where = f"{st.url}{layout.REFERENCE}"
        if not st.exists(layout.REFERENCE_MANIFEST):
            raise ReferenceDBError(
                f"{where}: no reference DB here (no manifest.json); run `pokecard index build --root ...` first"
            )
        try:
            man = st.get_json(layout.REFERENCE_MANIFEST)
        except (ValueError, PokecardError) as e:
            raise ReferenceDBError(
                f"{where}/manifest.json is unreadable ({e}); rebuild with `pokecard index build`"
            ) from e
        if not isinstance(man, dict) or man.get("format") != FORMAT:
            raise ReferenceDBError(
                f"{where}/manifest.json is not a {FORMAT} manifest; rebuild with `pokecard index build`"
            )
        rebuild = "rebuild it with `pokecard index build`"
        try:
            emb = np.load(io.BytesIO(st.get_bytes(layout.REFERENCE_EMBEDDINGS)), allow_pickle=False)
            ids = st.get_json(layout.REFERENCE_INDEX)["card_ids"]
            meta = st.get_json(layout.REFERENCE_METADATA)["cards"]
            kp_bytes = st.get_bytes(layout.REFERENCE_KEYPOINTS)
            index = Index.restore(str(_local_file(st, layout.REFERENCE_USEARCH)))
        except ObjectNotFound as e:
            raise ReferenceDBError(f"{where}: a file of the reference DB is missing ({e}); {rebuild}") from e
        except (KeyError, TypeError, ValueError) as e:
            raise ReferenceDBError(
                f"{where}: a file of the reference DB is malformed ({e}); {rebuild}"
            ) from e
        if index is None:
            raise ReferenceDBError(f"{where}/usearch.index is not a usearch index; {rebuild}")
        n, dim = int(man["count"]), int(man["embedding_dim"])
        problems = []
        if emb.ndim != 2 or emb.shape[0] != n:
            problems.append(
                f"embeddings.npy has {emb.shape[0] if emb.ndim else 0} rows, the manifest says {n}"
            )
        elif emb.shape[1] != dim:
            problems.append(f"embeddings.npy has {emb.shape[1]}-d rows, the manifest says {dim}")
        if len(ids) != n:
            problems.append(f"index.json has {len(ids)} rows, the manifest says {n}")
        if len(meta) != n:
            problems.append(f"metadata.json has {len(meta)} cards, the manifest says {n}")
        if len(index) != n:
            problems.append(f"usearch.index has {len(index)} vectors, the manifest says {n}")
        if index.ndim != dim:
            problems.append(f"usearch.index is {index.ndim}-d, the manifest says {dim}")
        kdb = KeypointDB.from_bytes(
            kp_bytes, FeatureConfig.from_dict(man.get("features", {})), f"{where}/keypoints.npz"
        )
        if kdb.count != n:
            problems.append(f"keypoints.npz covers {kdb.count} cards, the manifest says {n}")
        if problems:
            raise ReferenceDBError(
                f"{where}: the reference DB is inconsistent: {'; '.join(problems)}; {rebuild}"
            )
        cards = {c["card_id"]: c for c in meta}
        missing = [i for i in ids if i not in cards]
        if missing:
            raise ReferenceDBError(
                f"{where}: metadata.json lacks card(s) {', '.join(missing[:3])}; {rebuild}"
            )
        db = cls(ReferenceManifest(man), emb, index, list(ids), cards, kdb, where)
        if embedder is not None:
            db.check_embedder(embedder)
        return db

    def check_embedder(self, embedder: Any) -> None:
        """Refuse a model other than the one that built this DB (identity and file sha256)."""
        m = self.manifest["model"]
        ident = embedder.card.identity() if hasattr(embedder, "card") else embedder.identity()
        if ident != m["identity"]:
            diff = [k for k in ident if ident.get(k) != m["identity"].get(k)]
            raise ReferenceDBError(
                f"{self.url} was built by model {m.get('key') or m.get('path') or m.get('name')} "
                f"({m['identity'].get('architecture')}), not by the model running now "
                f"({ident.get('architecture')}; differs in {', '.join(diff)}); rebuild it with `pokecard index build --model ...`"
            )
        path = getattr(embedder, "model_path", None)
        running = sha256_file(path) if m.get("sha256") and path is not None else None
        if running is not None and running != m["sha256"]:
            raise ReferenceDBError(
                f"{self.url} was built by a model with sha256 {m['sha256'][:12]}..., but {path} has "
                f"sha256 {running[:12]}...: a different model; rebuild it with `pokecard index build --model {path}`"
            )

    def search(
        self, vectors: np.ndarray, k: int, exclude: set[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` rows and cosine similarities per query vector: (rows int64 [Q, k], scores float32 [Q, k])."""
        q = np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)
        if q.shape[1] != self.embeddings.shape[1]:
            raise ReferenceDBError(
                f"query vectors are {q.shape[1]}-d, the reference DB is {self.embeddings.shape[1]}-d"
            )
        kk = min(len(self), k + (len(exclude) if exclude else 0))
        m = self.index.search(q, kk, exact=self.exact, threads=1)
        keys = np.asarray(m.keys).astype(np.int64).reshape(len(q), -1)
        counts = np.asarray(getattr(m, "counts", [keys.shape[1]])).reshape(
            -1
        )  # one query: Matches, no counts
        found = counts[:, None] > np.arange(keys.shape[1])[None, :]
        keys = np.where(found & (keys >= 0) & (keys < len(self.embeddings)), keys, -1)
        # the index ranks in its compact dtype (f16/i8); the candidates are re-scored with the
        # exact float32 cosine, so scores and their order among the top k are exact
        scores = np.einsum("qkd,qd->qk", self.embeddings[np.maximum(keys, 0)], q).astype(np.float32)
        scores = np.where(keys >= 0, scores, -np.inf).astype(np.float32)
        order = np.argsort(-scores, axis=1, kind="stable")
        keys = np.take_along_axis(keys, order, axis=1)
        scores = np.take_along_axis(scores, order, axis=1)
        if exclude:
            rows_out = np.full((len(q), k), -1, np.int64)
            sc_out = np.full((len(q), k), -np.inf, np.float32)
            for i in range(len(q)):
                keep = [j for j in range(keys.shape[1]) if keys[i, j] not in exclude][:k]
                rows_out[i, : len(keep)] = keys[i, keep]
                sc_out[i, : len(keep)] = scores[i, keep]
            return rows_out, sc_out
        return keys[:, :k], scores[:, :k]
