"""ONNX export: the uint8 NHWC contract, parity with PyTorch, and the torch embedder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from pokecard.embed import create_embedder  # noqa: E402
from pokecard.errors import ModelError  # noqa: E402
from pokecard.export.onnx import export_onnx  # noqa: E402
from pokecard.modelcard import ModelCard  # noqa: E402
from pokecard.models import create_model, parameter_count, state_dict_bytes  # noqa: E402


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict:
    torch.manual_seed(0)
    net = create_model("student", input_size=(64, 48)).eval()
    card = ModelCard(
        name="student",
        architecture="efficientnet_lite0",
        embedding_dim=768,
        input_size=(64, 48),
        mean=(0.5, 0.4, 0.3),
        std=(0.2, 0.25, 0.3),
        parameters=parameter_count(net),
    )
    d = tmp_path_factory.mktemp("export")
    pt = d / "student.pt"
    pt.write_bytes(state_dict_bytes(net))
    card.save(d / "model_card.json")
    rep = export_onnx(net, card, d / "student.onnx")
    return {"dir": d, "pt": pt, "onnx": d / "student.onnx", "report": rep, "card": card, "net": net}


def test_graph_takes_uint8_nhwc_with_dynamic_batch_and_returns_normalized_embeddings(exported: dict) -> None:
    model = onnx.load(str(exported["onnx"]))
    onnx.checker.check_model(model)
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    sess = ort.InferenceSession(str(exported["onnx"]), providers=["CPUExecutionProvider"])
    (inp,), (out,) = sess.get_inputs(), sess.get_outputs()
    assert (inp.name, inp.type, out.name) == ("images", "tensor(uint8)", "embeddings")
    assert inp.shape[1:] == [64, 48, 3] and not isinstance(inp.shape[0], int)
    for n in (1, 3):
        x = np.random.default_rng(n).integers(0, 256, (n, 64, 48, 3), dtype=np.uint8)
        y = sess.run(None, {"images": x})[0]
        assert y.shape == (n, 768) and y.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(y, axis=1), 1.0, atol=1e-5)
    with pytest.raises(Exception):  # noqa: B017 - onnxruntime raises its own untyped error
        sess.run(None, {"images": np.zeros((1, 64, 48, 3), np.float32)})


def test_parity_with_pytorch_on_32_images_including_the_normalization(exported: dict) -> None:
    rep = exported["report"]
    assert rep.parity_images == 32 and rep.parity_min_cosine >= 0.9999
    # Independently: the card's mean/std applied by hand in PyTorch gives the ONNX vectors.
    card, net = exported["card"], exported["net"]
    x = np.random.default_rng(7).integers(0, 256, (4, 64, 48, 3), dtype=np.uint8)
    t = torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255
    t = (t - torch.tensor(card.mean).view(1, 3, 1, 1)) / torch.tensor(card.std).view(1, 3, 1, 1)
    with torch.no_grad():
        ref = net(t).numpy()
    sess = ort.InferenceSession(str(exported["onnx"]), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"images": x})[0]
    assert (ref * got).sum(1).min() >= 0.9999


def test_torch_and_onnx_embedders_agree(exported: dict) -> None:
    rng = np.random.default_rng(3)
    # Any size: the embedders resize to the card's input size first.
    imgs = [rng.integers(0, 256, (352, 252, 3), dtype=np.uint8) for _ in range(5)]
    a = create_embedder(exported["onnx"]).embed(imgs)
    b = create_embedder(exported["pt"], backend="torch").embed(imgs)
    assert a.shape == b.shape == (5, 768)
    assert (a * b).sum(1).min() >= 0.9999


def test_torch_embedder_refuses_a_checkpoint_of_another_architecture(exported: dict, tmp_path: Path) -> None:
    card = ModelCard.from_dict({**exported["card"].as_dict(), "architecture": "resnet10t"})
    with pytest.raises(ModelError):
        from pokecard.embed.torch_backend import TorchEmbedder

        TorchEmbedder(card, exported["pt"])


def test_export_refuses_old_opsets(exported: dict, tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="opset 13"):
        export_onnx(exported["net"], exported["card"], tmp_path / "x.onnx", opset=13)
