"""The stages end to end on a tiny config: outputs, model cards, tracking, skipping, errors."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from pokecard import layout  # noqa: E402
from pokecard.errors import CatalogError, ConfigError, ModelError  # noqa: E402
from pokecard.modelcard import ModelCard  # noqa: E402

from .conftest import write_preset  # noqa: E402


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_every_stage_runs_and_leaves_its_artifacts(trained: dict) -> None:
    res, root = trained["result"], trained["root"]
    assert [s.stage for s in res.stages] == [
        "catalog",
        "teacher",
        "gallery",
        "student",
        "evaluate",
        "export",
        "reference",
    ]
    assert all(s.status in ("ran", "unavailable") for s in res.stages)
    for key in (
        layout.teacher_checkpoint("v1"),
        layout.teacher_gallery("v1"),
        layout.student_checkpoint("v1"),
        layout.student_onnx("v1"),
        f"{layout.student_dir('v1')}/{layout.EVAL_REPORT}",
    ):
        assert (root / key).is_file(), key
    # No resume checkpoint is left behind once a training stage completed.
    assert not (root / layout.teacher_dir("v1") / layout.RESUME_CHECKPOINT).exists()
    gallery = np.load(root / layout.teacher_gallery("v1"))
    assert gallery.shape == (6, 768)
    np.testing.assert_allclose(np.linalg.norm(gallery, axis=1), 1.0, atol=1e-4)


def test_model_cards_name_the_exact_files_and_preprocessing(trained: dict) -> None:
    root = trained["root"]
    s = ModelCard.load(root / layout.model_card(layout.student_dir("v1")))
    t = ModelCard.load(root / layout.model_card(layout.teacher_dir("v1")))
    assert s.weights_sha256 == _sha(root / layout.student_checkpoint("v1"))
    assert s.onnx_sha256 == _sha(root / layout.student_onnx("v1"))
    assert t.weights_sha256 == _sha(root / layout.teacher_checkpoint("v1"))
    assert (s.architecture, t.architecture) == ("efficientnet_lite0", "vit_tiny_patch16_dinov3_qkvb")
    assert s.input_size == (64, 48) and s.embedding_dim == 768 and s.preset == "tiny"
    assert s.run_id and s.run_id == trained["result"].run_id
    assert "student->student.top1" in s.metrics and s.extra["default_gallery"] in ("student", "teacher")
    assert s.extra["onnx"]["parity_min_cosine"] >= 0.9999


def test_evaluation_uses_held_out_seeds_and_reports_three_pairings(trained: dict) -> None:
    rep = json.loads((trained["root"] / layout.student_dir("v1") / layout.EVAL_REPORT).read_text())
    assert set(rep["metrics"]) == {"teacher->teacher", "student->teacher", "student->student"}
    for m in rep["metrics"].values():
        assert m["n"] == 12 and 0 <= m["top1"] <= m["top5"] <= 1
        assert m["margin_p5"] <= m["margin_mean"]
    assert rep["seeds"].startswith("eval_seed")
    assert rep["why"]


def test_tracking_and_analytics_files(trained: dict) -> None:
    root, run_id = trained["root"], trained["result"].run_id
    with sqlite3.connect(root / layout.MLFLOW_DB) as db:
        assert db.execute("select count(*) from runs where run_uuid = ?", (run_id,)).fetchone()[0] == 1
        names = {r[0] for r in db.execute("select key from metrics where run_uuid = ?", (run_id,))}
    assert {"teacher.loss", "student.loss", "eval.student_to_teacher.top1"} <= names
    assert list((root / layout.MLFLOW_ARTIFACTS).rglob(layout.STUDENT_ONNX))
    perf = list(csv.DictReader((root / layout.MODEL_PERFORMANCE).open()))
    assert {r["query_model"] + "->" + r["gallery"] for r in perf} == {
        "teacher->teacher",
        "student->teacher",
        "student->student",
    }
    comp = list(csv.DictReader((root / layout.COMPRESSION_METRICS).open()))
    by = {(r["model"], r["format"]): r for r in comp}
    assert int(by[("teacher", "pt")]["parameters"]) > int(by[("student", "pt")]["parameters"])
    assert float(by[("student", "onnx")]["cpu_latency_ms"]) > 0
    lineage = json.loads((root / layout.MODEL_LINEAGE).read_text())["versions"]["v1"]
    assert lineage["student"]["distilled_from"] == lineage["gallery"]["sha256"]
    index = json.loads((root / layout.MLFLOW_INDEX).read_text())
    assert index["runs"][-1]["run_id"] == run_id


def test_rerun_skips_unchanged_stages_and_reruns_what_a_change_touches(trained: dict, tmp_path: Path) -> None:
    from pokecard.cli import run
    from pokecard.train.pipeline import train

    root = tmp_path / "root"
    shutil.copytree(trained["root"], root)
    onnx_before = _sha(root / layout.student_onnx("v1"))
    again = train(root, catalog=trained["catalog"], preset=str(trained["preset"]), track=False)
    assert {s.stage: s.status for s in again.stages if s.stage != "catalog"} == {
        k: "skipped" for k in ("teacher", "gallery", "student", "evaluate", "export", "reference")
    }
    assert _sha(root / layout.student_onnx("v1")) == onnx_before
    # A longer student run: the teacher and its gallery are reused, everything downstream reruns.
    longer = write_preset(tmp_path / "longer.json", student={"epochs": 3})
    rc = run(["train", "--root", str(root), "--preset", str(longer), "--no-track", "--json"])
    assert rc == 0
    stamps = {
        s: json.loads((root / layout.training_stamp("v1", s)).read_text()) for s in ("teacher", "student")
    }
    assert stamps["student"]["preset"] == "tiny" and stamps["student"]["inputs"]["student"]["epochs"] == 3
    assert stamps["teacher"]["inputs"]["teacher"]["epochs"] == 2
    assert _sha(root / layout.student_onnx("v1")) != onnx_before


def test_a_stage_alone_needs_its_inputs_and_says_which_stage_makes_them(
    synth_cat: Path, tmp_path: Path
) -> None:
    from pokecard.catalog import build_catalog
    from pokecard.store import open_store
    from pokecard.train.pipeline import train

    root = tmp_path / "fresh"
    build_catalog(synth_cat, open_store(root))
    with pytest.raises(ModelError, match=r"--stage (teacher|gallery)"):
        train(root, stages=["student"], preset=str(write_preset(tmp_path / "p.json")), track=False)
    with pytest.raises(ConfigError, match="unknown stage"):
        train(root, stages=["bake"], track=False)
    with pytest.raises(CatalogError, match="catalog build"):
        train(tmp_path / "empty", stages=["teacher"], track=False)
    with pytest.raises(ConfigError, match="pass --catalog"):
        train(tmp_path / "empty", track=False)


def test_trace_writes_a_profiler_trace_under_the_layout(trained: dict, tmp_path: Path) -> None:
    from pokecard.train.pipeline import train

    root = tmp_path / "root"
    shutil.copytree(trained["root"], root)
    preset = write_preset(tmp_path / "p.json", student={"steps_per_epoch": 6, "epochs": 1})
    res = train(root, stages=["student"], preset=str(preset), trace=True, track=False)
    assert res.stage("student").status == "ran"
    traces = list((root / "profiling" / "efficientnet_lite0").glob("*/student_trace.json"))
    assert traces and json.loads(traces[0].read_text())["traceEvents"]


def test_bad_presets_get_one_clear_message(tmp_path: Path) -> None:
    from pokecard.train.config import load_preset

    p = tmp_path / "p.json"
    p.write_text(json.dumps({"base": "demo", "student": {"epoch": 3}}))
    with pytest.raises(ConfigError, match="unknown key 'epoch'"):
        load_preset(str(p))
    with pytest.raises(ConfigError, match="neither a known preset"):
        load_preset("huge")
    p.write_text(json.dumps({"teacher": {"embedding_dim": 64}}))
    with pytest.raises(ConfigError, match="embedding_dim differ"):
        load_preset(str(p))
    p.write_text(json.dumps({"data": {"hard_class_frac": 2}}))
    with pytest.raises(ConfigError, match="hard_class_frac 2 must be in"):
        load_preset(str(p))
    p.write_text(json.dumps({"loss": {"student_id_weight": -1}}))
    with pytest.raises(ConfigError, match="must be >= 0"):
        load_preset(str(p))
    p.write_text(json.dumps({"loss": {"relational_cap": 1.5}}))
    with pytest.raises(ConfigError, match=r"relational_cap 1.5 must be in \(-1, 1\]"):
        load_preset(str(p))
