"""A loaded, validated reference DB and its vector search (see :mod:`pokecard.reference`).

:meth:`ReferenceDB.load` validates everything (row counts, dims, model identity, keypoints)
and raises :class:`ReferenceDBError` with a message that says what to do.
"""

from __future__ import annotations

import os
import zipfile
from typing import Any

import numpy as np

from pokecard import layout
from pokecard.arrays import map_npz
from pokecard.embed.base import Embedder
from pokecard.errors import ObjectNotFound, PokecardError, ReferenceDBError
from pokecard.features import FeatureConfig, KeypointDB
from pokecard.reference.manifest import FORMAT, ReferenceManifest
from pokecard.reference.search import HNSW, usearch_index_class
from pokecard.store import Store, open_store, sha256_file


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
    def load(cls, store: Store | str | os.PathLike[str], embedder: Embedder | None = None) -> ReferenceDB:
        """Load and validate; ``embedder`` (when given) must be the model that built the DB."""
        Index = usearch_index_class()  # noqa: N806

        st = open_store(store)
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
            # memory-mapped: the pages are read as the search touches them (docs/scale.md, "Loading")
            emb = np.load(st.local_path(layout.REFERENCE_EMBEDDINGS), mmap_mode="r", allow_pickle=False)
            ids = st.get_json(layout.REFERENCE_INDEX)["card_ids"]
            meta = st.get_json(layout.REFERENCE_METADATA)["cards"]
            kp_path = st.local_path(layout.REFERENCE_KEYPOINTS)
            index = Index.restore(str(st.local_path(layout.REFERENCE_USEARCH)), view=True)
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
        try:
            kp = map_npz(kp_path)
        except (OSError, ValueError, zipfile.BadZipFile) as e:
            raise ReferenceDBError(
                f"{where}/keypoints.npz: not a readable keypoint file ({e}); {rebuild}"
            ) from e
        kdb = KeypointDB.from_arrays(
            kp, FeatureConfig.from_dict(man.get("features", {})), f"{where}/keypoints.npz"
        )
        if kdb.count != n:
            problems.append(f"keypoints.npz covers {kdb.count} cards, the manifest says {n}")
        else:
            kdb.set_sample(list(ids))
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

    def check_embedder(self, embedder: Embedder) -> None:
        """Refuse a model other than the one that built this DB (identity and file sha256)."""
        m = self.manifest["model"]
        ident = embedder.identity()
        if ident != m["identity"]:
            diff = [k for k in ident if ident.get(k) != m["identity"].get(k)]
            raise ReferenceDBError(
                f"{self.url} was built by model {m.get('key') or m.get('path') or m.get('name')} "
                f"({m['identity'].get('architecture')}), not by the model running now "
                f"({ident.get('architecture')}; differs in {', '.join(diff)}); rebuild it with `pokecard index build --model ...`"
            )
        path = getattr(embedder, "model_path", None)
        running = sha256_file(path) if m.get("sha256") and path is not None else None
        if running is not None and path.suffix == ".hef":
            # a HEF is compiled from an ONNX: its card keeps that ONNX's sha256
            running = embedder.card.onnx_sha256 or "(none recorded)"
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
