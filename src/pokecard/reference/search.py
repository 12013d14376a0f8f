"""The vector search of the reference DB: a usearch index and the settings it is built with.

The defaults come from the search sweep of `pokecard bench recognizer` (docs/recognizer.md,
"Search engine choice": f16 keeps recall@1 at 1.0 where f32 has it, exact search up to 2,000
cards, HNSW M=16 above with a larger expansion_search beyond 20,000 cards).
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

SEARCH_DTYPE = "f16"
EXACT_SEARCH_MAX = 2_000
HNSW = {"connectivity": 16, "expansion_add": 128, "expansion_search": 64}
EF_LARGE = (20_000, 128)  # above this many cards, this expansion_search
SERIAL_ADD = 20_000  # vectors added on one thread before the rest in parallel (see make_usearch)


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


def usearch_index_class():  # noqa: ANN201 - usearch class, imported lazily
    """usearch's Index class, with onnxruntime imported first: importing onnxruntime after
    usearch has run a multi-threaded add segfaults (usearch 2.26 on this machine)."""
    with contextlib.suppress(ImportError):
        import onnxruntime  # noqa: F401
    from usearch.index import Index

    return Index


def make_usearch(
    vectors: np.ndarray, dtype: str = "f32", metric: str = "cos", hnsw: dict[str, int] | None = None
) -> Any:
    Index = usearch_index_class()  # noqa: N806

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
    # some nodes badly linked (a missed nearest card about 1 query in 300, differently on each
    # build); one thread builds the same graph every time.
    head = min(len(x), SERIAL_ADD)
    if head:
        idx.add(keys[:head], x[:head], threads=1)
    if len(x) > head:
        idx.add(keys[head:], x[head:], threads=0)
    return idx
