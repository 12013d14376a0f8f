"""Bundle: one archive, every file checked; a DB built by another model is refused."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from pokecard.edge import bundle as bd
from pokecard.edge.errors import BundleError, SelftestError


def test_bundle_carries_everything_with_a_manifest(good_bundle: Path, tmp_path: Path) -> None:
    from pokecard import layout

    man = bd.verify_bundle(good_bundle)
    files = man["files"]
    model_key = f"{bd.ROOT_DIR}/{layout.student_onnx(bd.BUNDLE_VERSION)}"
    for need in (
        model_key,
        f"{bd.ROOT_DIR}/{layout.REFERENCE_MANIFEST}",
        bd.EXPECTED,
        bd.CONFIG,
        bd.UNIT,
        bd.REQUIREMENTS,
        man["wheel"],
    ):
        assert need in files, need
    assert all(len(r["sha256"]) == 64 and r["size"] > 0 for r in files.values())
    reqs = (bd.unpack(good_bundle, tmp_path / "u") / bd.REQUIREMENTS).read_text()
    assert "onnxruntime" in reqs and "torch" not in reqs  # the Pi installs the core only
    # the DB inside names the model inside, by its new key
    ref = json.loads((tmp_path / "u" / bd.ROOT_DIR / layout.REFERENCE_MANIFEST).read_text())
    assert ref["model"]["key"] == layout.student_onnx(bd.BUNDLE_VERSION) and ref["model"]["path"] is None


def _tamper(src: Path, dst: Path, name: str, data: bytes) -> Path:
    with tarfile.open(src) as tin, tarfile.open(dst, "w:gz") as tout:
        for m in tin.getmembers():
            f = tin.extractfile(m) if m.isfile() else None
            if m.name == name:
                import io

                m.size = len(data)
                f = io.BytesIO(data)
            tout.addfile(m, f)
    return dst


def test_verify_names_the_corrupted_file(good_bundle: Path, tmp_path: Path) -> None:
    bad = _tamper(good_bundle, tmp_path / "bad.tar.gz", bd.EXPECTED, b'{"photos": []}')
    with pytest.raises(BundleError, match=r"selftest/expected.json: \d+ bytes, the manifest says"):
        bd.verify_bundle(bad)
    trunc = tmp_path / "trunc.tar.gz"
    trunc.write_bytes(good_bundle.read_bytes()[: good_bundle.stat().st_size // 2])
    with pytest.raises(BundleError, match="trunc.tar.gz: not a readable bundle archive"):
        bd.verify_bundle(trunc)
    from pokecard.cli import run

    assert run(["bundle", "verify", str(bad)]) == 1
    assert run(["bundle", "verify", str(good_bundle)]) == 0


def test_bundle_refuses_a_db_built_by_another_model(edge_root: Path, wheel: Path, tmp_path: Path) -> None:
    from pokecard.modelcard import ModelCard

    other = tmp_path / "other"
    other.mkdir()
    src = Path(__file__).resolve().parents[2] / "models" / "temporal-forces-student"
    (other / "student_stage2_final.onnx").write_bytes(
        (src / "student_stage2_final_int8.onnx").read_bytes() + b"\0"
    )
    ModelCard.load(src / "model_card.json").save(other / "model_card.json")
    out = tmp_path / "b.tar.gz"
    with pytest.raises(BundleError, match="reference DB was built by a model with sha256"):
        bd.make_bundle(edge_root, out, model=str(other / "student_stage2_final.onnx"), wheel=wheel)
    card = ModelCard.load(src / "model_card.json")
    card.embedding_dim = 512
    card.save(other / "model_card.json")
    with pytest.raises(BundleError, match=r"built by another model .*\(differs in embedding_dim\)"):
        bd.make_bundle(edge_root, out, model=str(other / "student_stage2_final.onnx"), wheel=wheel)
    assert not out.exists()


def test_selftest_passes_on_the_bundle_and_fails_on_a_broken_model(
    good_bundle: Path, broken_bundle: Path, tmp_path: Path
) -> None:
    from pokecard.edge.selftest import check, run_selftest

    rep = check(bd.unpack(good_bundle, tmp_path / "good"))
    assert rep.passed and len(rep.photos) == 3 and all(p["got"] == p["expected"] for p in rep.photos)
    slow = run_selftest(tmp_path / "good", max_ms=0.001)  # the latency bound is checked too
    assert not slow.passed and "over the 0 ms bound" in slow.problems[0]
    bd.verify_bundle(broken_bundle)  # intact archive, broken model
    with pytest.raises(SelftestError, match="cannot load the model"):
        check(bd.unpack(broken_bundle, tmp_path / "broken"))


def test_compare_backends(
    edge_root: Path, edge_catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    """The same model twice agrees exactly; a perturbed copy (a stand-in for another
    quantization) agrees less; Hailo without HailoRT is the clear message."""
    import sys

    import numpy as np
    import onnx
    from onnx import numpy_helper
    from PIL import Image

    from pokecard.cli import run
    from pokecard.edge.compare import compare_backends
    from pokecard.errors import MissingDependency
    from pokecard.modelcard import ModelCard

    from .conftest import STUDENT, photo_of

    for i in range(4):
        Image.fromarray(photo_of(edge_catalog, i, 3)).save(tmp_path / f"p{i}.jpg")
    same = compare_backends(edge_root, "onnx", "onnx", [tmp_path])
    assert same["photos"] == 4 and same["cosine_min"] > 0.9999 and same["top1_agreement"] == 1.0
    m = onnx.load(str(STUDENT / "student_stage2_final_int8.onnx"))
    big = max(
        (t for t in m.graph.initializer if t.data_type == onnx.TensorProto.FLOAT),
        key=lambda t: np.prod(t.dims),
    )
    w = numpy_helper.to_array(big)
    rng = np.random.default_rng(0)
    big.CopyFrom(
        numpy_helper.from_array(
            (w + 0.5 * w.std() * rng.standard_normal(w.shape)).astype(np.float32), big.name
        )
    )
    onnx.save(m, str(tmp_path / "perturbed.onnx"))
    ModelCard.load(STUDENT / "model_card.json").save(tmp_path / "model_card.json")
    diff = compare_backends(edge_root, "onnx", f"onnx:{tmp_path / 'perturbed.onnx'}", [tmp_path])
    assert 0 < diff["cosine_min"] < 0.9999 and diff["cosine_mean"] < same["cosine_mean"]
    monkeypatch.setitem(sys.modules, "hailo_platform", None)
    hef = tmp_path / "m.hef"
    hef.write_bytes(b"HEF")
    (tmp_path / "model_card.json").rename(tmp_path / "card.json")
    ModelCard.load(tmp_path / "card.json").save(hef.with_name("model_card.json"))
    with pytest.raises(MissingDependency, match="hailo-all"):
        compare_backends(edge_root, "onnx", f"hailo:{hef}", [tmp_path])
    assert run(["compare-backends", "onnx", "onnx", str(tmp_path), "--root", str(edge_root), "--json"]) == 0
