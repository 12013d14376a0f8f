"""`pokecard export int8`: a checked int8 ONNX with its own model card, usable by the embedder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from pokecard.cli import run


def test_export_int8_writes_a_checked_model_with_its_card(
    tiny_models, small_catalog, tmp_path: Path, capsys
) -> None:  # noqa: ANN001
    from pokecard.embed import create_embedder
    from pokecard.modelcard import ModelCard
    from pokecard.store import sha256_file

    src_dir = Path(shutil.copytree(tiny_models[0].parent, tmp_path / "fp32"))
    model = src_dir / "student_stage2_final.onnx"
    argv = [
        "export",
        "int8",
        "--model",
        str(model),
        "--catalog",
        str(small_catalog.root),
        "--calibration",
        "16",
    ]
    assert run([*argv, "--json"]) == 0
    rep = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    out = src_dir / "int8" / "student_stage2_final_int8.onnx"
    assert Path(rep["path"]) == out and out.is_file()
    assert rep["calibration_images"] == 16 and rep["check_images"] == 64
    assert 0.98 <= rep["mean_cosine"] <= 1.0 + 1e-6 and rep["min_cosine"] <= rep["mean_cosine"]
    card = ModelCard.load(out.parent / "model_card.json")
    src_card = ModelCard.load(src_dir / "model_card.json")
    assert card.onnx_sha256 == sha256_file(out) != src_card.onnx_sha256  # the fp32 card is untouched
    q = card.extra["quantization"]
    assert q["source_onnx_sha256"] == sha256_file(model) and q["mean_cosine"] == rep["mean_cosine"]
    assert (card.input_size, card.embedding_dim) == (src_card.input_size, src_card.embedding_dim)

    # the uint8 input's normalization stays float (quantized, it is a QLinearMul over the whole
    # image); every Conv is quantized
    import onnx

    nodes = onnx.load(str(out)).graph.node
    first_q = next(i for i, n in enumerate(nodes) if n.op_type == "QuantizeLinear")
    producers = {o: n for n in nodes for o in n.output}
    # quantized after the normalization's last float op, not at the Cast of the uint8 input
    assert producers[nodes[first_q].input[0]].op_type in ("Sub", "Div")
    conv_inputs = [producers.get(n.input[0]) for n in nodes if n.op_type == "Conv"]
    assert conv_inputs and all(p is not None and p.op_type == "DequantizeLinear" for p in conv_inputs)

    import onnxruntime as ort

    crops = [small_catalog.load_image(c) for c in small_catalog.cards]
    fp, q8 = create_embedder(model, threads=1), create_embedder(out, threads=1)
    levels = [e.session.get_session_options().graph_optimization_level for e in (fp, q8)]
    assert levels == [
        ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    ]
    a, b = fp.embed(crops), q8.embed(crops)
    assert b.shape == a.shape and b.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-3)
    assert float((a * b).sum(1).mean()) > 0.95


def test_export_int8_refuses_the_model_folder_and_bad_images(tiny_models, small_catalog, capsys) -> None:  # noqa: ANN001
    from pokecard.errors import ModelError
    from pokecard.export.onnx import quantize_int8

    model = tiny_models[0]
    argv = ["export", "int8", "--model", str(model), "--catalog", str(small_catalog.root)]
    assert run([*argv, "--out", str(model.with_name("q.onnx"))]) == 1
    assert "another folder" in capsys.readouterr().err
    missing = model.parent / "missing.onnx"
    assert run(["export", "int8", "--model", str(missing), "--catalog", str(small_catalog.root)]) == 1
    assert f"{missing}: ONNX model not found" in capsys.readouterr().err
    good = np.zeros((2, 64, 48, 3), np.uint8)
    with pytest.raises(ModelError, match="uint8"):
        quantize_int8(model, model.parent / "x" / "q.onnx", good.astype(np.float32), good)
    assert not (model.parent / "x").exists()


def test_int8_and_hef_calibrate_on_the_devices_own_crops(small_catalog) -> None:  # noqa: ANN001
    """One builder for both quantizers: a calibration crop is the device's crop (detect, rectify,
    resize) of a training-range simulated photo; check crops use evaluation photos."""
    from pokecard.catalog import Catalog
    from pokecard.errors import ModelError
    from pokecard.export.calibration import CALIBRATION_SEED_BASE, calibration_crops, check_crops, device_crop
    from pokecard.modelcard import ModelCard
    from pokecard.photo import PhotoConfig, simulate_scene, train_seed

    card = ModelCard(name="student", architecture="x", embedding_dim=8, input_size=(96, 64))
    cal = calibration_crops(small_catalog, card, 3)
    assert cal.shape == (3, 96, 64, 3) and cal.dtype == np.uint8
    photo, _ = simulate_scene(
        small_catalog.load_image(small_catalog.cards[2]),
        train_seed(2, CALIBRATION_SEED_BASE + 2),
        PhotoConfig.train(),
    )
    assert np.array_equal(cal[2], device_crop(photo, card))
    assert np.array_equal(calibration_crops(small_catalog, card, 3), cal)  # deterministic
    assert not np.array_equal(check_crops(small_catalog, card, 3), cal)
    with pytest.raises(ModelError, match="no cards"):
        calibration_crops(Catalog(name="empty", root=small_catalog.root, cards=[]), card, 2)
