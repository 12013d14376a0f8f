"""The embedding path at a larger size with synthetic vectors (bench.scale.vectors): vectors
with the catalogue's statistics, and rows for the catalogue alone and padded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cardlib import N_CARDS, _copy_root, photo_of

from pokecard.bench.scale.vectors import synthetic_vectors, vector_scale


def test_synthetic_vectors_have_the_catalogue_statistics() -> None:
    rng = np.random.default_rng(0)
    basis = rng.standard_normal((6, 32))
    emb = rng.standard_normal((3000, 6)) * [5, 3, 2, 1, 0.5, 0.2] @ basis + 4 * basis[0]
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    syn = synthetic_vectors(emb, 5000, seed=1)
    assert syn.shape == (5000, 32) and syn.dtype == np.float32
    assert np.allclose(np.linalg.norm(syn, axis=1), 1, atol=1e-5)
    assert np.linalg.norm(syn.mean(0) - emb.mean(0)) < 0.05
    top = lambda x: np.linalg.svd(x - x.mean(0), compute_uv=False)[:3] / np.sqrt(len(x))  # noqa: E731
    assert np.allclose(top(syn), top(emb), rtol=0.15)  # normalizing bends a Gaussian a little
    assert not np.isin(syn, emb).all(axis=1).any()  # drawn, not copied


def test_vector_scale_measures_the_catalogue_alone_and_padded(
    built_root: Path,
    small_catalog,
    tiny_models: tuple[Path, Path],
    tmp_path: Path,  # noqa: ANN001
) -> None:
    from pokecard.reference.build import build_reference

    root = _copy_root(built_root, tmp_path / "emb")
    build_reference(root, str(tiny_models[0]), progress=False, calibrate=False)
    photos = [(i, photo_of(small_catalog, i, 0), None) for i in range(4)]
    res = vector_scale(root, photos, total=300, seed=2)
    alone, padded = res["rows"]
    assert (alone["cards"], padded["cards"], res["photos"]) == (N_CARDS, 300, 4)
    assert alone["top1_synthetic"] == 0 and padded["index_mb"] > alone["index_mb"]
    # exact search at both sizes: vectors added can take the top place, never give it back
    assert alone["exact"] and padded["exact"] and padded["top1"] <= alone["top1"]
    for r in (alone, padded):
        assert 0 <= r["accepted_right"] <= r["top1"] <= r["in_shortlist"] <= 1
        assert 0 < r["search_ms"]["p50"] <= r["search_ms"]["p95"]
    with pytest.raises(ValueError, match="needs an embedding DB"):
        tf = _copy_root(built_root, tmp_path / "tf")
        build_reference(tf, None, progress=False, calibrate=False)
        vector_scale(tf, photos, total=300)
