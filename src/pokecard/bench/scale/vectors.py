"""The embedding path past the generated catalogues: 100,000 cards as synthetic vectors.

The reference embeddings of a generated catalogue (the student's, one per card) are joined
by synthetic vectors up to ``total``: draws from a Gaussian with those embeddings' mean and
covariance, normalized, so the added "cards" fill the same region of the space as real ones.
The held-out photos of the generated catalogue are searched in both indexes (its own, and
the one with the synthetic vectors), embedding only, one thread: top-1, the truth within the
verification shortlist, accepted right and wrong at the DB's calibrated cosine threshold,
and search time; and the index's build time and size. Synthetic vectors have no keypoints,
so the verified path is not measured here.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from pokecard.bench.recognizer.common import latency_summary
from pokecard.bench.scale.measure import Photos
from pokecard.catalog.build import load_processed
from pokecard.detect import detect_fast, fallback
from pokecard.progress import progress
from pokecard.recognize import Recognizer
from pokecard.recognize.look import beats
from pokecard.reference.search import make_usearch, search_settings

log = logging.getLogger(__name__)
SVD_SAMPLE = 8_000  # embeddings the covariance is estimated from


def synthetic_vectors(emb: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """``n`` unit vectors drawn from a Gaussian with the mean and covariance of ``emb``."""
    rng = np.random.default_rng(seed)
    x = np.asarray(emb, np.float32)
    sub = x[rng.choice(len(x), min(len(x), SVD_SAMPLE), replace=False)]
    mu = sub.mean(0)
    _, s, vt = np.linalg.svd(sub - mu, full_matrices=False)
    z = rng.standard_normal((n, len(s))).astype(np.float32) * (s / np.sqrt(max(1, len(sub) - 1)))
    v = mu + z @ vt
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def _queries(rec: Recognizer, photos: Photos) -> np.ndarray:
    """Each photo's crop embedded in both 180-degree orientations: [photos, 2, dim]."""
    out = []
    with progress(len(photos), "embedding the photos") as advance:
        for _, photo, _ in photos:
            det = detect_fast(photo) or fallback(photo)
            crop = det.crop
            out.append(rec.embedder.embed([crop, np.ascontiguousarray(crop[::-1, ::-1])]))
            advance(1)
    return np.stack(out)


def _search_all(index: Any, q: np.ndarray, k: int, exact: bool) -> tuple[np.ndarray, list[float]]:
    """Per photo, the top-``k`` rows over both orientations (best cosine first), and ms per photo."""
    rows, ms = [], []
    for pair in q:
        t0 = time.perf_counter()
        m = index.search(pair, k, exact=exact, threads=1)
        ms.append((time.perf_counter() - t0) * 1e3)
        keys = np.asarray(m.keys).reshape(2, -1).astype(np.int64)
        dist = np.asarray(m.distances).reshape(2, -1)
        best: dict[int, float] = {}
        for key, d in zip(keys.reshape(-1), dist.reshape(-1), strict=True):
            if key >= 0:
                best[int(key)] = min(best.get(int(key), np.inf), float(d))
        rows.append([r for r, _ in sorted(best.items(), key=lambda t: t[1])[:k]] + [-1] * k)
    return np.array([r[:k] for r in rows]), ms


def _ranked(vectors: np.ndarray, rows: np.ndarray, q: np.ndarray) -> list[list[tuple[int, float]]]:
    """Each photo's candidates re-scored with the exact cosine (best orientation) and re-ranked,
    as the recognizer does with its compact index's candidates."""
    out = []
    for pair, rs in zip(q, rows, strict=True):
        rs = rs[rs >= 0]
        sc = np.max(vectors[rs] @ pair.T, axis=1)
        out.append(sorted(zip(rs.tolist(), sc.tolist(), strict=True), key=lambda t: -t[1]))
    return out


def vector_scale(root: Path, photos: Photos, total: int, seed: int = 0) -> dict[str, Any]:
    """The embedding path of the DB under ``root`` (an embedding DB) alone and padded with
    synthetic vectors to ``total``; one row per index."""
    rec = Recognizer(root, threads=1)
    if rec.db.mode != "embedding":
        raise ValueError(f"{root}: a {rec.db.mode} DB; the vector scale needs an embedding DB")
    cat = load_processed(root)
    row_of = {cid: r for r, cid in enumerate(rec.db.card_ids)}
    truth = np.array([row_of[cat.cards[i].card_id] for i, _, _ in photos])
    q = _queries(rec, photos)
    base = np.asarray(rec.db.embeddings, np.float32)
    k = max(rec.features.shortlist, 5)
    thr = rec.threshold(False)
    out: dict[str, Any] = {
        "catalogue_cards": len(base),
        "total": total,
        "vectors": f"{len(base):,} generated cards' student embeddings + {max(0, total - len(base)):,} "
        "synthetic (a Gaussian with their mean and covariance, normalized)",
        "photos": len(photos),
        "min_score": thr,
        "rows": [],
    }
    for n in (len(base), total):
        vectors = base if n == len(base) else np.vstack([base, synthetic_vectors(base, n - len(base), seed)])
        s = search_settings(n)
        t0 = time.perf_counter()
        index = make_usearch(vectors, dtype=s["dtype"], hnsw=s)
        build_s = time.perf_counter() - t0
        rows, ms = _search_all(index, q, k, bool(s["exact"]))
        ranked = _ranked(vectors, rows, q)
        top = np.array([r[0][0] if r else -1 for r in ranked])
        right = top == truth
        ok = np.array([beats(r, thr) for r in ranked])
        short = [t in [c for c, _ in r[: rec.features.shortlist]] for t, r in zip(truth, ranked, strict=True)]
        out["rows"].append({
            "cards": n,
            "index_build_s": round(build_s, 2),
            "index_mb": round(index.serialized_length / 2**20, 1),
            "exact": bool(s["exact"]),
            "top1": round(float(right.mean()), 4),
            "in_shortlist": round(float(np.mean(short)), 4),
            "accepted_right": round(float(np.mean(right & ok)), 4),
            "accepted_wrong": round(float(np.mean(~right & ok)), 4),
            "top1_synthetic": round(float(np.mean(top >= len(base))), 4),
            "search_ms": latency_summary(ms),
        })  # fmt: skip
        log.info("vectors %d: %s", n, out["rows"][-1])
    return out
