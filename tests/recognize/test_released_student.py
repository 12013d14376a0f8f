"""The released 218-card student (models/temporal-forces-student): file and card agree, it runs
as an int8 embedder, it names the cards it was trained on, and the recognizer bench finds it
only where it applies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "models" / "temporal-forces-student" / "student_stage2_final_int8.onnx"
TEF = REPO.parent / "shared" / "data" / "catalog" / "temporal-forces"


def test_released_student_file_and_card_agree() -> None:
    import onnxruntime as ort

    from pokecard.embed import create_embedder
    from pokecard.modelcard import ModelCard, card_path_for
    from pokecard.store import sha256_file

    card = ModelCard.load(card_path_for(MODEL))
    assert card.onnx_sha256 == sha256_file(MODEL)
    assert card.architecture == "efficientnet_lite0" and card.embedding_dim == 768
    assert card.extra["quantization"]["mean_cosine"] >= 0.98
    emb = create_embedder(MODEL, threads=1)
    opt = emb.session.get_session_options().graph_optimization_level
    assert opt == ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED  # int8: see embed.session_level
    rng = np.random.default_rng(0)
    v = emb.embed(rng.integers(0, 256, (2, 300, 200, 3), dtype=np.uint8))
    assert v.shape == (2, 768) and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-3)


@pytest.mark.skipif(not TEF.is_dir(), reason=f"{TEF} (the catalogue it was trained on) is not here")
def test_released_student_names_held_out_photos_of_its_catalogue() -> None:
    from pokecard.catalog import load_catalog
    from pokecard.embed import create_embedder
    from pokecard.photo import PhotoConfig, eval_seed, simulate_crop

    cat = load_catalog(TEF)
    emb = create_embedder(MODEL, threads=2)
    gallery = emb.embed([cat.load_image(c) for c in cat.cards])
    idx = list(range(0, len(cat.cards), 9))  # 25 cards, held-out (evaluation) seeds
    crops = [simulate_crop(cat.load_image(cat.cards[i]), eval_seed(i, 7), PhotoConfig.eval()) for i in idx]
    top1 = (emb.embed(crops) @ gallery.T).argmax(1)
    assert (top1 == np.array(idx)).sum() >= 24


def test_bench_picks_the_released_student_last_and_only_for_its_catalogue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pokecard.bench.recognizer import SHIPPED_STUDENT, pick_student

    monkeypatch.chdir(REPO)
    monkeypatch.delenv("POKECARD_BENCH_MODEL", raising=False)
    monkeypatch.setenv("POKECARD_ROOT", str(tmp_path / "no-root"))
    assert SHIPPED_STUDENT.resolve() == MODEL
    got, why = pick_student(None, real_catalogue=True)
    assert got == str(SHIPPED_STUDENT) and "released" in why
    assert pick_student(None, real_catalogue=False) == (None, "none")  # a synthetic catalogue
    # a student the user trained (under POKECARD_ROOT) comes before the released one
    import shutil

    from pokecard import layout

    trained = tmp_path / "root" / layout.STUDENT_DIR / "v1"
    trained.mkdir(parents=True)
    shutil.copy(MODEL, trained / layout.STUDENT_ONNX)
    shutil.copy(MODEL.parent / "model_card.json", trained / "model_card.json")
    monkeypatch.setenv("POKECARD_ROOT", str(tmp_path / "root"))
    got, why = pick_student(None, real_catalogue=True)
    assert Path(got) == trained / layout.STUDENT_ONNX and str(tmp_path / "root") in why
    monkeypatch.setenv("POKECARD_BENCH_MODEL", "/x/env.onnx")
    assert pick_student(None, real_catalogue=True) == ("/x/env.onnx", "POKECARD_BENCH_MODEL")
    assert pick_student("/x/arg.onnx", real_catalogue=True) == ("/x/arg.onnx", "--model")
