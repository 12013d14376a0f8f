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


class FakeEmulatorRunner(FakeRunner):
    """FakeRunner plus the documented emulator: ``infer_context(InferenceContext.SDK_QUANTIZED)``
    and ``infer(ctx, float NHWC)``, answering with the real ONNX model (times ``noise``)."""

    onnx_path: Path | None = None
    noise = 0.0

    def infer_context(self, kind):  # noqa: ANN001, ANN201
        import contextlib

        FakeRunner.calls.append(("infer_context", kind))
        return contextlib.nullcontext("ctx")

    def infer(self, ctx, data):  # noqa: ANN001, ANN201
        import onnxruntime as ort

        sess = ort.InferenceSession(str(self.onnx_path), providers=["CPUExecutionProvider"])
        emb = sess.run(None, {"images": np.clip(data, 0, 255).astype(np.uint8)})[0] * 3.0
        rng = np.random.default_rng(0)
        return emb + self.noise * rng.standard_normal(emb.shape).astype(np.float32)


def _fake_dfc(onnx_path: Path, noise: float = 0.0) -> types.SimpleNamespace:
    FakeEmulatorRunner.onnx_path, FakeEmulatorRunner.noise = onnx_path, noise
    return types.SimpleNamespace(
        ClientRunner=FakeEmulatorRunner, InferenceContext=types.SimpleNamespace(SDK_QUANTIZED="quantized")
    )


def test_export_hef_without_dfc_prepares_everything_and_exits_2(
    built_root, tiny_onnx, monkeypatch, capsys
) -> None:
    import io

    from pokecard import layout
    from pokecard.catalog import load_processed
    from pokecard.cli import run
    from pokecard.export import hailo
    from pokecard.preprocess import resize_batch
    from pokecard.store import LocalStore

    monkeypatch.setitem(sys.modules, "hailo_sdk_client", None)
    assert run(["export", "hef", "--root", str(built_root), "--calib", "8"]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert len(err) == 1  # one message (the rest of stderr is the fixture's unrecorded-card warning)
    for words in (
        "Developer Zone",
        "DFC 3.29.0 + HailoRT 4.19.0",
        "pokecard export hef --root",
        "8 calibration images",
    ):
        assert words in err[0], words
    st = LocalStore(built_root)
    _, card = tiny_onnx
    shards, meta_key = hailo.calibration_keys(card, 8)
    assert shards == [f"{layout.CALIBRATION_DIR}/8x48x32/shard_000.npy"] and st.exists(meta_key)
    calib = np.load(io.BytesIO(st.get_bytes(shards[0])))
    assert calib.shape == (8, 48, 32, 3) and calib.dtype == np.uint8 and calib.std() > 0
    # detected and rectified like on the device: each image looks most like its own card's scan
    cat = load_processed(st)
    gallery = (
        resize_batch([cat.load_image(c) for c in cat.cards], card)
        .reshape(len(cat.cards), -1)
        .astype(np.float32)
    )
    g = (gallery - gallery.mean(1, keepdims=True)) / gallery.std(1, keepdims=True)
    from pokecard.photo import PhotoConfig, simulate_scene, train_seed

    def right(imgs: np.ndarray) -> float:
        x = imgs.reshape(len(imgs), -1).astype(np.float32)
        x = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
        return float(np.mean(np.argmax(x @ g.T, axis=1) == np.arange(len(imgs)) % len(cat.cards)))

    n = len(cat.cards)  # the same photos, only resized (no detection): much less like their cards
    raw = resize_batch([simulate_scene(cat.load_image(cat.cards[i % n]), train_seed(i % n, 1_000_000 + i),
                                       PhotoConfig.train())[0] for i in range(8)], card)  # fmt: skip
    assert right(calib) >= 0.5 and right(calib) > right(raw), (right(calib), right(raw))
    for name in ("model_script.alls", "hailo_cut.json", "student_body_float.onnx"):
        assert st.exists(f"{layout.hailo_dir('v1')}/{name}"), name
    assert (
        "normalization1 = normalization("
        in st.get_bytes(f"{layout.hailo_dir('v1')}/model_script.alls").decode()
    )
    before = st.recorded(shards[0])["sha256"]
    assert run(["export", "hef", "--root", str(built_root), "--calib", "8"]) == 2  # reused, not rebuilt
    assert st.recorded(shards[0])["sha256"] == before


def test_export_hef_with_dfc_checks_the_emulator_then_writes_the_hef(
    built_root, tiny_onnx, monkeypatch, capsys
) -> None:
    import json

    from pokecard import layout
    from pokecard.cli import run
    from pokecard.export import hailo
    from pokecard.store import LocalStore

    onnx_path, _ = tiny_onnx
    st = LocalStore(built_root)
    monkeypatch.setattr(hailo, "HELD_OUT", 12)  # fewer held-out photos than the real check's 64
    monkeypatch.setitem(sys.modules, "hailo_sdk_client", _fake_dfc(onnx_path, noise=5.0))
    assert run(["export", "hef", "--root", str(built_root), "--calib", "8"]) == 1
    assert "disagrees with ONNX" in capsys.readouterr().err and not st.exists(layout.hailo_hef("v1"))

    monkeypatch.setitem(sys.modules, "hailo_sdk_client", _fake_dfc(onnx_path))
    argv = ["export", "hef", "--root", str(built_root), "--calib", "8", "--json", "--hw-arch", "hailo8"]
    assert run(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["hef"].endswith(layout.hailo_hef("v1")) and out["emulator_check"]["mean_cosine"] > 0.999
    assert st.get_bytes(layout.hailo_hef("v1")) == b"HEF-bytes"
    card = st.get_json(layout.model_card(layout.hailo_dir("v1")))
    assert card["hef_sha256"] and card["extra"]["hw_arch"] == "hailo8" and card["input_size"] == [48, 32]
    assert card["extra"]["emulator_check"]["top1_agreement"] == 1.0
    calls = dict(FakeRunner.calls)
    assert calls["init"] == "hailo8" and calls["infer_context"] == "quantized"
    calib = calls["optimize"]
    assert calib.shape == (8, 48, 32, 3) and calib.dtype == np.float32 and calib.max() <= 255


def test_int8_model_is_refused_for_hef(built_root, monkeypatch) -> None:
    from pokecard.cli import run

    student = (
        Path(__file__).resolve().parents[2]
        / "models"
        / "temporal-forces-student"
        / "student_stage2_final_int8.onnx"
    )
    monkeypatch.setitem(sys.modules, "hailo_sdk_client", None)
    assert run(["export", "hef", "--root", str(built_root), "--model", str(student), "--calib", "8"]) == 1


def test_recognizer_on_hailort_runs_the_hef_compiled_from_the_db_model(
    tiny_onnx, built_root, tmp_path, monkeypatch
) -> None:
    """`--backend hailort`: the recognizer loads the HEF beside the reference DB's ONNX (same
    version), accepts it because its card names that ONNX's sha256, and answers as ONNX does;
    a HEF compiled from another model, or none at all, is refused with what to do."""
    import dataclasses

    from pokecard import layout
    from pokecard.errors import ModelError, ReferenceDBError
    from pokecard.recognize import Recognizer
    from pokecard.reference.build import build_reference
    from pokecard.store import LocalStore, sha256_file

    onnx_path, card = tiny_onnx
    st = LocalStore(built_root)
    build_reference(st, layout.student_onnx("v1"), progress=False, calibrate=False)
    with pytest.raises(ModelError, match="no HEF compiled from"):
        Recognizer(st, backend="hailort")
    seen: dict = {}
    monkeypatch.setitem(sys.modules, "hailo_platform", _fake_hailort(onnx_path, seen))
    hef = st.path(layout.hailo_hef("v1"))
    hef.parent.mkdir(parents=True)
    hef.write_bytes(b"HEF")
    hef_card = dataclasses.replace(card, onnx_sha256=sha256_file(onnx_path), hef_sha256=sha256_file(hef))
    hef_card.save(hef.with_name("model_card.json"))
    photo = np.random.default_rng(1).integers(0, 256, (400, 300, 3), dtype=np.uint8)
    on_chip = Recognizer(st, backend="hailort", verify=False)
    assert on_chip.embedder.backend == "hailort" and seen["configure"] == "cfg:PCIe"
    cpu = Recognizer(st, verify=False)
    got, want = on_chip.recognize_array(photo, "p"), cpu.recognize_array(photo, "p")
    assert [t.card_id for t in got.top_k] == [t.card_id for t in want.top_k]
    dataclasses.replace(hef_card, onnx_sha256="0" * 64).save(hef.with_name("model_card.json"))
    with pytest.raises(ReferenceDBError, match="a different model"):
        Recognizer(st, backend="hailort")
