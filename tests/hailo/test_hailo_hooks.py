"""The Hailo hooks against fakes of the documented DFC and HailoRT Python APIs.

The real DFC and HailoRT cannot be installed here (not on PyPI, need Hailo hardware); the
fakes implement the documented call surface and record how pokecard calls it, and the fake
HailoRT runs the real ONNX model so the embeddings can be compared.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest

from pokecard.embed import create_embedder
from pokecard.errors import MissingDependency, ModelError
from pokecard.modelcard import ModelCard

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ModelCard]:
    """A tiny pokecard-contract model: uint8 NHWC in, normalize inside, conv body, Gemm head, L2 out."""
    card = ModelCard(name="student", architecture="tiny_cnn", embedding_dim=16, input_size=(48, 32))

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.conv = torch.nn.Conv2d(3, 8, 3, stride=2)
            self.head = torch.nn.Linear(8, 16)
            m = torch.tensor(card.mean).view(1, 3, 1, 1)
            s = torch.tensor(card.std).view(1, 3, 1, 1)
            self.register_buffer("m", m)
            self.register_buffer("s", s)

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            x = (images.permute(0, 3, 1, 2).float() / 255.0 - self.m) / self.s
            x = torch.relu(self.conv(x)).mean(dim=(2, 3))
            return torch.nn.functional.normalize(self.head(x), dim=1)

    d = tmp_path_factory.mktemp("tiny")
    path = d / "student_stage2_final.onnx"
    torch.onnx.export(
        Net().eval(),
        torch.zeros(2, 48, 32, 3, dtype=torch.uint8),
        str(path),
        input_names=["images"],
        output_names=["embeddings"],
        dynamic_axes={"images": {0: "n"}, "embeddings": {0: "n"}},
        opset_version=17,
        dynamo=False,
    )
    card.save(d / "model_card.json")
    return path, card


class FakeRunner:
    calls: list[tuple[str, object]] = []

    def __init__(self, hw_arch: str) -> None:
        FakeRunner.calls = [("init", hw_arch)]

    def translate_onnx_model(
        self, model, net_name, start_node_names=None, end_node_names=None, net_input_shapes=None
    ):  # noqa: ANN001
        FakeRunner.calls.append(
            ("translate", (model, net_name, start_node_names, end_node_names, net_input_shapes))
        )
        return "hn", "npz"

    def load_model_script(self, script: str) -> None:
        FakeRunner.calls.append(("script", script))

    def optimize(self, calib) -> None:  # noqa: ANN001
        FakeRunner.calls.append(("optimize", calib))

    def save_har(self, path: str) -> None:
        Path(path).write_bytes(b"HAR")

    def compile(self) -> bytes:
        return b"HEF-bytes"


def test_compile_hef_drives_the_dfc_as_documented(tiny_onnx, tmp_path, monkeypatch) -> None:
    from pokecard.export import hailo

    onnx_path, card = tiny_onnx
    monkeypatch.setitem(sys.modules, "hailo_sdk_client", types.SimpleNamespace(ClientRunner=FakeRunner))
    crops = [np.full((352, 252, 3), v, np.uint8) for v in (0, 128, 255)]
    calib = hailo.calibration_set(crops, card)
    assert calib.shape == (3, 48, 32, 3) and calib.dtype == np.float32 and calib.max() == 255.0
    out = hailo.compile_hef(
        onnx_path, card, calib, tmp_path / "m.hef", hw_arch="hailo8", har_path=tmp_path / "m.har"
    )
    assert out.read_bytes() == b"HEF-bytes" and (tmp_path / "m.har").read_bytes() == b"HAR"
    calls = dict(FakeRunner.calls)
    assert calls["init"] == "hailo8"
    _, name, start, end, shapes = calls["translate"]
    import onnx

    g = onnx.load(str(onnx_path)).graph
    assert start == [next(n.name for n in g.node if n.op_type == "Conv")]
    assert end == [[n.name for n in g.node if n.op_type in ("Gemm", "MatMul")][-1]]
    assert shapes == {start[0]: [1, 3, 48, 32]}
    # normalization moved into the model script, in 0..255 units
    assert (
        "normalization1 = normalization([123.675, 116.280, 103.530], [58.395, 57.120, 57.375])"
        in calls["script"]
    )
    assert calls["optimize"] is calib


def test_compile_hef_rejects_bad_inputs(tiny_onnx, tmp_path, monkeypatch) -> None:
    from pokecard.export import hailo

    onnx_path, card = tiny_onnx
    monkeypatch.setitem(sys.modules, "hailo_sdk_client", types.SimpleNamespace(ClientRunner=FakeRunner))
    with pytest.raises(ModelError, match="hw_arch"):
        hailo.compile_hef(
            onnx_path, card, np.zeros((1, 48, 32, 3), np.float32), tmp_path / "x.hef", hw_arch="h9"
        )
    with pytest.raises(ModelError, match="calibration set has shape"):
        hailo.compile_hef(onnx_path, card, np.zeros((1, 10, 10, 3), np.float32), tmp_path / "x.hef")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not onnx")
    with pytest.raises(ModelError, match="bad.onnx"):
        hailo.find_cut(bad, card)
    assert not (tmp_path / "x.hef").exists()


def test_missing_dfc_says_where_to_get_it(tiny_onnx, tmp_path, monkeypatch) -> None:
    from pokecard.export import hailo

    monkeypatch.setitem(sys.modules, "hailo_sdk_client", None)  # import raises ImportError
    onnx_path, card = tiny_onnx
    with pytest.raises(MissingDependency, match="Developer Zone"):
        hailo.compile_hef(onnx_path, card, np.zeros((1, 48, 32, 3), np.float32), tmp_path / "x.hef")


def _fake_hailort(onnx_path: Path, seen: dict) -> types.SimpleNamespace:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])

    class Info:
        def __init__(self, name: str) -> None:
            self.name = name

    class HEF:
        def __init__(self, path: str) -> None:
            seen["hef"] = path

        def get_input_vstream_infos(self):  # noqa: ANN202
            return [Info("pokecard_student/input_layer1")]

        def get_output_vstream_infos(self):  # noqa: ANN202
            return [Info("pokecard_student/fc1")]

    class Ctx:
        def __enter__(self):  # noqa: ANN204
            return self

        def __exit__(self, *a) -> None:  # noqa: ANN002
            seen["closed"] = seen.get("closed", 0) + 1

    class NetworkGroup:
        def create_params(self) -> str:
            return "ng-params"

        def activate(self, params: str) -> Ctx:
            seen["activated"] = params
            return Ctx()

    class VDevice(Ctx):
        def configure(self, hef, params):  # noqa: ANN001, ANN202
            seen["configure"] = params
            return [NetworkGroup()]

    class InferVStreams(Ctx):
        def __init__(self, ng, inp, out) -> None:  # noqa: ANN001
            seen["formats"] = (inp, out)

        def infer(self, feeds: dict):  # noqa: ANN202
            ((name, x),) = feeds.items()
            seen["input"] = (name, x.dtype, x.shape)
            emb = sess.run(None, {"images": x})[0]
            return {"pokecard_student/fc1": emb * 7.0}  # the chip returns the head before L2 norm

    class Params:
        @staticmethod
        def make(ng, format_type):  # noqa: ANN001, ANN205
            return format_type

    return types.SimpleNamespace(
        HEF=HEF,
        VDevice=VDevice,
        InferVStreams=InferVStreams,
        InputVStreamParams=Params,
        OutputVStreamParams=Params,
        FormatType=types.SimpleNamespace(UINT8="UINT8", FLOAT32="FLOAT32"),
        HailoStreamInterface=types.SimpleNamespace(PCIe="PCIe"),
        ConfigureParams=types.SimpleNamespace(create_from_hef=lambda hef, interface: f"cfg:{interface}"),
    )


def test_hailort_embedder_matches_onnx(tiny_onnx, tmp_path, monkeypatch) -> None:
    onnx_path, card = tiny_onnx
    hef = onnx_path.with_suffix(".hef")
    hef.write_bytes(b"HEF")
    seen: dict = {}
    monkeypatch.setitem(sys.modules, "hailo_platform", _fake_hailort(onnx_path, seen))
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (5, 352, 252, 3), dtype=np.uint8)
    hailo_emb = create_embedder(hef, card=card)  # backend chosen from the .hef suffix
    assert hailo_emb.backend == "hailort"
    got = hailo_emb.embed(imgs)
    want = create_embedder(onnx_path, card=card).embed(imgs)
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0)
    assert seen["input"] == ("pokecard_student/input_layer1", np.uint8, (5, 48, 32, 3))
    assert seen["formats"] == ("UINT8", "FLOAT32") and seen["configure"] == "cfg:PCIe"
    assert seen["activated"] == "ng-params"
    hailo_emb.close()
    assert seen["closed"] >= 2


def test_missing_hailort_is_a_clear_error(tiny_onnx, monkeypatch) -> None:
    onnx_path, card = tiny_onnx
    hef = onnx_path.with_suffix(".hef")
    hef.write_bytes(b"HEF")
    monkeypatch.setitem(sys.modules, "hailo_platform", None)
    with pytest.raises(MissingDependency, match="hailo-all"):
        create_embedder(hef, card=card)


@pytest.fixture
def built_root(tiny_onnx, tmp_path) -> Path:
    """A project root with a small built catalogue and the tiny student as version v1."""
    import shutil

    from pokecard import layout
    from pokecard.catalog import build_catalog, synth_catalog
    from pokecard.store import LocalStore

    onnx_path, _ = tiny_onnx
    synth_catalog(4, tmp_path / "cat", seed=3)
    st = LocalStore(tmp_path / "root")
    build_catalog(tmp_path / "cat", st)
    dst = st.path(layout.student_onnx("v1"))
    dst.parent.mkdir(parents=True)
    shutil.copy(onnx_path, dst)
    shutil.copy(onnx_path.with_name("model_card.json"), dst.with_name("model_card.json"))
    return tmp_path / "root"


def test_export_hef_cli_end_to_end(built_root, monkeypatch, capsys) -> None:
    import json

    from pokecard import layout
    from pokecard.cli import run
    from pokecard.store import LocalStore

    monkeypatch.setitem(sys.modules, "hailo_sdk_client", None)
    assert run(["export", "hef", "--root", str(built_root), "--calib", "8"]) == 1
    assert "Developer Zone" in capsys.readouterr().err
    st = LocalStore(built_root)
    calib_key = f"{layout.CALIBRATION_DIR}/calibration_8x48x32.npy"
    assert st.exists(calib_key)  # ready for when the compiler is installed
    before = st.recorded(calib_key)["sha256"]

    monkeypatch.setitem(sys.modules, "hailo_sdk_client", types.SimpleNamespace(ClientRunner=FakeRunner))
    assert (
        run(["export", "hef", "--root", str(built_root), "--calib", "8", "--json", "--hw-arch", "hailo8"])
        == 0
    )
    raw = capsys.readouterr().out
    out = json.loads(raw)
    assert out["hef"].endswith(layout.hailo_hef("v1"))
    assert st.get_bytes(layout.hailo_hef("v1")) == b"HEF-bytes"
    card = st.get_json(layout.model_card(layout.hailo_dir("v1")))
    assert card["hef_sha256"] and card["extra"]["hw_arch"] == "hailo8" and card["input_size"] == [48, 32]
    assert st.recorded(calib_key)["sha256"] == before  # calibration reused, not rebuilt
    calib = dict(FakeRunner.calls)["optimize"]
    assert calib.shape == (8, 48, 32, 3) and calib.dtype == np.float32 and calib.std() > 0
