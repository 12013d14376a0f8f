"""The vector search sweep: synthetic catalogue-like vectors with near-duplicate groups, recall@1 and latency of usearch settings against numpy brute force, at 17,592 and 100,000 cards."""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from pokecard.bench.recognizer.common import percentile
from pokecard.reference.search import HNSW, make_usearch, search_settings

log = logging.getLogger(__name__)


def catalogue_vectors(n: int, d: int, rng: np.random.Generator, dup_share: float = 0.2) -> np.ndarray:
    """Unit vectors shaped like card embeddings, not uniform noise.

    Clustered (cards of one set or template look alike: cosine about 0.65 within a cluster)
    and with near-duplicate groups (alternate arts and reprints: ``dup_share`` of the rows
    sit in groups of 2-4 at cosine 0.9-0.99 to the first of the group), so the gap between the
    best and the second-best card is often small, which is what makes approximate and
    quantized search miss.
    """
    centers = rng.normal(size=(max(n // 25, 1), d)).astype(np.float32)
    x = centers[rng.integers(0, len(centers), n)] + 0.7 * rng.normal(size=(n, d)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    i = 0
    n_dup = int(dup_share * n)
    while i < n_dup - 1:
        g = int(min(rng.integers(2, 5), n_dup - i))
        c = rng.uniform(0.9, 0.99)
        for j in range(i + 1, i + g):
            x[j] = _at_cosine(x[i], c, rng)
        i += g
    return x


def _at_cosine(v: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    """A unit vector at cosine ``c`` to the unit vector ``v`` (random direction otherwise)."""
    u = rng.normal(size=v.shape).astype(np.float32)
    u -= float(u @ v) * v
    u /= np.linalg.norm(u)
    return (c * v + np.sqrt(1.0 - c * c) * u).astype(np.float32)


def photo_queries(
    x: np.ndarray, n: int, rng: np.random.Generator, cos: tuple[float, float] = (0.7, 0.9)
) -> np.ndarray:
    """Photo-like queries: catalogue vectors moved to a cosine of ``cos`` (uniform) from their source.

    Real photo embeddings sit at cosine 0.7-0.9 to their card's reference embedding, not at
    0.99: that puts many cards at a similar distance and tests the search honestly."""
    src = rng.choice(len(x), n, replace=n > len(x))
    return np.stack([_at_cosine(x[i], float(rng.uniform(*cos)), rng) for i in src])


def _truth(x: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """Exact top-1 (numpy brute force, f32) and its per-query latency (one query at a time)."""
    truth = np.empty(len(q), np.int64)
    ts = []
    for j in range(len(q)):
        t0 = time.perf_counter()
        truth[j] = int(np.argmax(x @ q[j]))
        ts.append((time.perf_counter() - t0) * 1000)
    return truth, ts


def _search_rows(idx: Any, q: np.ndarray, truth: np.ndarray, exact: bool) -> tuple[float, list[float]]:
    ts, hits = [], 0
    for j in range(len(q)):
        t0 = time.perf_counter()
        m = idx.search(q[j], 1, exact=exact, threads=1)
        ts.append((time.perf_counter() - t0) * 1000)
        hits += int(m.keys[0]) == truth[j]
    return hits / len(q), ts


def usearch_compare(
    sizes: list[int],
    d: int = 768,
    queries: int = 200,
    seed: int = 0,
    dtypes: tuple[str, ...] = ("f32", "f16", "i8"),
    connectivity: tuple[int, ...] = (16,),
    expansion_search: tuple[int, ...] = (16, 32, 64, 128, 256),
    exact_dtypes: tuple[str, ...] | None = None,
) -> list[dict[str, Any]]:
    """numpy brute force vs usearch exact and HNSW: recall@1 and per-query latency on one thread.

    For each size, dtype and ``connectivity`` one HNSW index is built and searched at every
    ``expansion_search``; exact search once per dtype (``exact_dtypes``, default ``dtypes``).
    Vectors: :func:`catalogue_vectors`; queries: :func:`photo_queries` (cosine 0.7-0.9 to their card).
    """
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for n in sizes:
        x = catalogue_vectors(n, d, rng)
        q = photo_queries(x, queries, rng)
        truth, t_np = _truth(x, q)
        base = {"n": n, "queries": queries}
        rows.append(
            {
                **base,
                "engine": "numpy brute force",
                "dtype": "f32",
                "recall@1": 1.0,
                "ms_p50": round(percentile(t_np, 50), 3),
            }
        )
        exact_dt = list(exact_dtypes if exact_dtypes is not None else dtypes)
        # exact search needs no graph, but usearch builds one on add: reuse the first HNSW build
        builds = [(dt, m) for dt in dtypes for m in connectivity]
        builds += [(dt, None) for dt in exact_dt if dt not in dtypes]
        for dtype, m in builds:
            t0 = time.perf_counter()
            idx = make_usearch(
                x,
                dtype=dtype,
                hnsw={"connectivity": m or HNSW["connectivity"], "expansion_add": HNSW["expansion_add"]},
            )
            build_s = time.perf_counter() - t0
            if dtype in exact_dt:
                exact_dt.remove(dtype)
                rec, ts = _search_rows(idx, q, truth, exact=True)
                rows.append(
                    {
                        **base,
                        "engine": "usearch exact",
                        "dtype": dtype,
                        "recall@1": round(rec, 4),
                        "ms_p50": round(percentile(ts, 50), 3),
                        "ms_p95": round(percentile(ts, 95), 3),
                    }
                )
            if m is None:
                continue
            for ef in expansion_search:
                idx.expansion_search = ef
                rec, ts = _search_rows(idx, q, truth, exact=False)
                rows.append(
                    {
                        **base,
                        "engine": f"usearch HNSW (M={m}, ef={ef})",
                        "connectivity": m,
                        "expansion_search": ef,
                        "dtype": dtype,
                        "recall@1": round(rec, 4),
                        "ms_p50": round(percentile(ts, 50), 3),
                        "ms_p95": round(percentile(ts, 95), 3),
                        "build_s": round(build_s, 1),
                    }
                )
    return rows


def scale_check(
    n: int = 100_000,
    d: int = 768,
    queries: int = 200,
    seed: int = 1,
    expansion_search: tuple[int, ...] = (32, 64, 128, 256),
) -> dict[str, Any]:
    """The default search (:func:`pokecard.reference.search.search_settings` for ``n`` cards) on ``n`` x ``d``
    synthetic vectors: per-query latency on one thread and recall@1 against numpy brute force;
    when the default is HNSW, also the same index at each ``expansion_search`` (``sweep``)."""
    rng = np.random.default_rng(seed)
    x = catalogue_vectors(n, d, rng)
    q = photo_queries(x, queries, rng)
    truth, _ = _truth(x, q)
    s = search_settings(n)
    t0 = time.perf_counter()
    idx = make_usearch(x, dtype=s["dtype"], hnsw=s)
    build = time.perf_counter() - t0
    rec, ts = _search_rows(idx, q, truth, exact=s["exact"])
    engine = (
        "usearch exact" if s["exact"] else f"usearch HNSW (M={s['connectivity']}, ef={s['expansion_search']})"
    )
    sweep = []
    for ef in () if s["exact"] else expansion_search:
        idx.expansion_search = ef
        r, t = _search_rows(idx, q, truth, exact=False)
        sweep.append({"expansion_search": ef, "recall@1": round(r, 4), "ms_p50": round(percentile(t, 50), 3)})
    return {
        "n": n,
        "dim": d,
        "dtype": s["dtype"],
        "engine": engine,
        "build_s": round(build, 1),
        "ms_p50": round(percentile(ts, 50), 3),
        "ms_p95": round(percentile(ts, 95), 3),
        "recall@1": round(rec, 4),
        "sweep": sweep,
    }
