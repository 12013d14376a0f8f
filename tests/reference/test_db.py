"""The reference DB: files and manifest, validation on load, model identity, search."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from cardlib import N_CARDS

from pokecard import layout
from pokecard.errors import ReferenceDBError
from pokecard.reference.build import build_reference
from pokecard.reference.db import ReferenceDB
from pokecard.store import open_store


def test_training_free_db_files_and_manifest(tf_root: Path) -> None:
    st = open_store(tf_root)
    for key in (
        layout.REFERENCE_EMBEDDINGS,
        layout.REFERENCE_USEARCH,
        layout.REFERENCE_INDEX,
        layout.REFERENCE_METADATA,
        layout.REFERENCE_KEYPOINTS,
        layout.REFERENCE_MANIFEST,
    ):
        assert st.exists(key), key
    man = st.get_json(layout.REFERENCE_MANIFEST)
    assert man["mode"] == "training-free" and man["count"] == N_CARDS
    assert man["model"]["identity"]["architecture"] == "layout-lab-v1"
    assert man["catalog"]["count"] == N_CARDS and len(man["catalog"]["hash"]) == 64
    assert man["calibration"]["method"].startswith("leave-one-out")
    assert man["thresholds"]["min_inliers"] >= 8
    assert set(man["files"]) == {
        layout.REFERENCE_EMBEDDINGS,
        layout.REFERENCE_USEARCH,
        layout.REFERENCE_INDEX,
        layout.REFERENCE_METADATA,
        layout.REFERENCE_KEYPOINTS,
    }
    db = ReferenceDB.load(st)
    assert len(db) == N_CARDS and db.keypoints.count == N_CARDS
    # every reference vector finds its own row first
    rows, scores = db.search(db.embeddings, k=3)
    assert rows[:, 0].tolist() == list(range(N_CARDS))
    assert np.allclose(scores[:, 0], 1.0, atol=2e-3)  # f16 index
    rows, _ = db.search(db.embeddings[:2], k=2, exclude={0, 1})
    assert 0 not in rows[0] and 1 not in rows[1]


@pytest.fixture
def tf_copy(tf_root: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tf_root, tmp_path / "root"))


def test_row_count_mismatch_is_refused(tf_copy: Path) -> None:
    st = open_store(tf_copy)
    ids = st.get_json(layout.REFERENCE_INDEX)["card_ids"]
    st.put_json(layout.REFERENCE_INDEX, {"card_ids": ids[:-1]})  # recorded, so only our check can catch it
    with pytest.raises(
        ReferenceDBError, match=f"index.json has {N_CARDS - 1} rows, the manifest says {N_CARDS}"
    ):
        ReferenceDB.load(st)


def test_embedding_dim_mismatch_is_refused(tf_copy: Path) -> None:
    import io

    st = open_store(tf_copy)
    buf = io.BytesIO()
    np.save(buf, np.zeros((N_CARDS, 8), np.float32))
    st.put_bytes(layout.REFERENCE_EMBEDDINGS, buf.getvalue())
    with pytest.raises(ReferenceDBError, match="8-d rows"):
        ReferenceDB.load(st)


def test_missing_db_and_missing_file_are_clear(tf_copy: Path, tmp_path: Path) -> None:
    with pytest.raises(ReferenceDBError, match="index build"):
        ReferenceDB.load(open_store(tmp_path / "empty"))
    st = open_store(tf_copy)
    st.delete(layout.REFERENCE_KEYPOINTS, dry_run=False)
    with pytest.raises(ReferenceDBError, match="missing"):
        ReferenceDB.load(st)


def test_db_built_by_model_a_is_refused_with_model_b(built_root: Path, tiny_models, tmp_path: Path) -> None:  # noqa: ANN001
    from pokecard.embed import create_embedder

    a, b = tiny_models
    root = Path(shutil.copytree(built_root, tmp_path / "root"))
    man = build_reference(root, a, progress=False, calibrate=False)
    assert man.mode == "embedding"
    assert man["model"]["path"] == str(a.resolve()) and man["embedding_dim"] == 32
    st = open_store(root)
    db = ReferenceDB.load(st, embedder=create_embedder(a))  # the right model loads
    assert db.embeddings.shape == (N_CARDS, 32)
    with pytest.raises(ReferenceDBError, match="not by the model running now"):
        ReferenceDB.load(st, embedder=create_embedder(b))
    # same architecture name and card, different weights file: the sha256 check catches it
    fake = tmp_path / "fake" / a.name
    fake.parent.mkdir()
    shutil.copy(b, fake)
    card = json.loads(a.with_name("model_card.json").read_text())
    fake.with_name("model_card.json").write_text(json.dumps(card))
    with pytest.raises(ReferenceDBError, match="a different model"):
        ReferenceDB.load(st, embedder=create_embedder(fake))


def test_auto_mode_picks_the_student_in_the_root(built_root: Path, tiny_models, tmp_path: Path) -> None:  # noqa: ANN001
    a, _ = tiny_models
    root = Path(shutil.copytree(built_root, tmp_path / "root"))
    st = open_store(root)
    assert build_reference(st, None, progress=False, calibrate=False).mode == "training-free"
    st.put_file(layout.student_onnx("v1"), a)
    st.put_file(layout.model_card(layout.student_dir("v1")), a.with_name("model_card.json"))
    man = build_reference(st, None, progress=False, calibrate=False)
    assert man.mode == "embedding" and man["model"]["key"] == layout.student_onnx("v1")
    with pytest.raises(ReferenceDBError, match="takes no --model"):
        build_reference(st, a, mode="training-free", progress=False, calibrate=False)


def test_cli_index_build_json(built_root: Path, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    from pokecard.cli import run

    root = Path(shutil.copytree(built_root, tmp_path / "root"))
    assert run(["index", "build", "--root", str(root), "--no-calibrate", "--json"]) == 0
    man = json.loads(capsys.readouterr().out)
    assert man["mode"] == "training-free" and man["count"] == N_CARDS
    assert man["calibration"]["method"] == "default"
    assert run(["index", "build", "--root", str(root), "--mode", "bogus"]) == 1
    assert "unknown mode 'bogus'" in capsys.readouterr().err


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _photo_like(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` clustered unit vectors with near-duplicate pairs, and queries at cosine 0.7-0.9 to one of them."""
    from pokecard.bench.recognizer.search import catalogue_vectors, photo_queries

    rng = np.random.default_rng(seed)
    x = catalogue_vectors(n, d, rng)
    return x, photo_queries(x, 150, rng)


@pytest.mark.parametrize("exact", [True, False])
def test_default_search_returns_the_numpy_top1(exact: bool) -> None:
    """The default dtype and HNSW settings (index.search_settings) find the exact nearest card."""
    from pokecard.reference.search import make_usearch, search_settings

    x, q = _photo_like(600, 768, seed=5)
    s = {**search_settings(len(x)), "exact": exact}
    idx = make_usearch(x, dtype=s["dtype"], hnsw=s)
    idx.expansion_search = s["expansion_search"]
    got = np.asarray(idx.search(q, 1, exact=s["exact"], threads=1).keys).reshape(-1)
    assert got.tolist() == np.argmax(q @ x.T, axis=1).tolist()


def test_reference_db_search_matches_numpy_and_scores_exactly(tf_copy: Path) -> None:
    """ReferenceDB.search: the top-1 of numpy brute force, and the exact float32 cosine as score
    (the index ranks in f16/i8; its own distances would be off by the quantization)."""
    from pokecard.reference.search import make_usearch

    st = open_store(tf_copy)
    db = ReferenceDB.load(st)
    x, q = _photo_like(400, db.embeddings.shape[1], seed=6)
    db.embeddings, db.card_ids = x, [f"card-{i}" for i in range(len(x))]
    db.index = make_usearch(x, dtype=db.manifest["search"]["dtype"], hnsw=db.manifest["search"])
    db.index.expansion_search = int(db.manifest["search"]["expansion_search"])
    for exact in (True, False):
        db.exact = exact
        rows, scores = db.search(q, k=3)
        assert rows[:, 0].tolist() == np.argmax(q @ x.T, axis=1).tolist()
        assert np.allclose(scores, np.take_along_axis(q @ x.T, rows, axis=1), atol=1e-5)
        assert np.all(np.diff(scores, axis=1) <= 0)  # best first
