"""The benchmark's search comparison on a tiny problem: exact usearch must agree with numpy."""

from __future__ import annotations

import numpy as np
import pytest

from pokecard.bench.recognizer.search import catalogue_vectors, photo_queries, scale_check, usearch_compare


def test_usearch_sweep_rows_and_exact_agrees_with_numpy_brute_force() -> None:
    rows = usearch_compare(
        [400],
        d=32,
        queries=25,
        dtypes=("f16", "i8"),
        connectivity=(8, 16),
        expansion_search=(16, 64),
        exact_dtypes=("f32", "i8"),
    )
    engines = {(r["engine"], r["dtype"]) for r in rows}
    assert ("numpy brute force", "f32") in engines
    assert {("usearch exact", dt) for dt in ("f32", "i8")} <= engines
    assert {
        (f"usearch HNSW (M={m}, ef={ef})", dt) for dt in ("f16", "i8") for m in (8, 16) for ef in (16, 64)
    } <= engines
    assert len(rows) == 1 + 2 + 2 * 2 * 2  # no duplicate rows
    exact_f32 = next(r for r in rows if r["engine"] == "usearch exact" and r["dtype"] == "f32")
    assert exact_f32["recall@1"] == 1.0
    assert all(0.0 <= r["recall@1"] <= 1.0 and r["ms_p50"] >= 0 for r in rows)


def test_sweep_vectors_and_queries_look_like_photos_of_cards() -> None:
    """Queries sit at cosine 0.7-0.9 to a catalogue vector; some vectors are near-duplicates."""
    rng = np.random.default_rng(0)
    x = catalogue_vectors(500, 64, rng)
    assert np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    sim = x @ x.T
    np.fill_diagonal(sim, -1)
    assert np.sum(sim.max(axis=1) >= 0.9) >= 0.15 * len(x)  # near-duplicate groups
    q = photo_queries(x, 50, rng)
    best = (q @ x.T).max(axis=1)
    assert np.all((best >= 0.7 - 1e-4) & (best <= 1.0)) and np.median(best) < 0.95


def test_scale_check_reports_latency_and_recall_of_the_default(monkeypatch) -> None:  # noqa: ANN001
    from pokecard.reference import search
    from pokecard.reference.search import search_settings

    r = scale_check(2_000, d=64, queries=20)
    s = search_settings(2_000)
    assert r["n"] == 2_000 and r["dtype"] == s["dtype"] and r["recall@1"] == 1.0 and r["ms_p50"] > 0
    assert r["engine"] == "usearch exact" and r["sweep"] == []  # exact: nothing to sweep
    monkeypatch.setattr(search, "EXACT_SEARCH_MAX", 100)  # the HNSW default, as for big catalogues
    r = scale_check(2_000, d=64, queries=20, expansion_search=(16, 64))
    assert r["engine"] == f"usearch HNSW (M=16, ef={search_settings(2_000)['expansion_search']})"
    assert [e["expansion_search"] for e in r["sweep"]] == [16, 64] and r["recall@1"] == 1.0


def test_embedding_modes_report_per_stage_latency_and_orientation_cost(
    built_root, tiny_models, small_catalog, tmp_path
) -> None:  # noqa: ANN001
    """What `bench recognizer` reports for a student: per-stage timings of embedding only and of
    embedding + verification, and the cost of embedding both 180-degree orientations."""
    import shutil
    from pathlib import Path

    from cardlib import photo_of

    from pokecard.bench.recognizer.accuracy import run_mode
    from pokecard.bench.recognizer.common import write_jpegs
    from pokecard.bench.recognizer.throughput import orientation_cost
    from pokecard.recognize import Recognizer
    from pokecard.reference.build import build_reference

    a, _ = tiny_models
    root = Path(shutil.copytree(built_root, tmp_path / "root"))
    build_reference(root, a, progress=False, calibrate=False)
    photos = [(i, photo_of(small_catalog, i, seed=4), None) for i in (1, 5)]
    rows = {i: i for i in range(len(small_catalog.cards))}
    only = run_mode(Recognizer(root, threads=1, verify=False), photos, rows)
    both = run_mode(Recognizer(root, threads=1, shortlist="embedding"), photos, rows)
    # the same photos as JPEG files: decode is measured and counted in the end-to-end total
    files = write_jpegs(photos, tmp_path / "jpg")
    from_files = run_mode(Recognizer(root, threads=1, verify=False), photos, rows, files)
    for m in (only, both, from_files):
        assert m["photos"] == 2 and set(m["ms"]) == {"decode", "detect", "embed", "search", "verify", "total"}
        assert m["ms"]["embed"]["p50"] > 0 and m["ms"]["search"]["p50"] > 0
        assert 0 <= m["accepted_right"] + m["accepted_wrong"] <= m["photos"]
        assert m["accepted_right"] <= round(m["top1"] * m["photos"])  # accepted right is top-1 and sure
    assert only["ms"]["verify"]["p50"] == 0 and both["ms"]["verify"]["p50"] > 0
    assert only["ms"]["decode"]["p50"] == 0 and from_files["ms"]["decode"]["p50"] > 0
    ms = from_files["ms"]
    assert ms["total"]["p50"] >= ms["decode"]["p50"] + ms["embed"]["p50"]
    assert from_files["top1"] == only["top1"]  # JPEG at quality 90 gives the same cards here
    o = orientation_cost(a, small_catalog.load_image(small_catalog.cards[0]), reps=3)
    assert o["one"] > 0 and o["both"] > 0


def test_markdown_has_per_stage_rows_for_every_mode_orientation_and_the_sweep() -> None:
    from pokecard.bench.recognizer import markdown

    lat = {"p50": 1.0, "p95": 2.0}
    mode = {
        "top1": 0.9,
        "accepted_right": 8,
        "accepted_wrong": 1,
        "photos": 10,
        "ms": dict.fromkeys(("decode", "detect", "embed", "search", "verify", "total"), lat),
    }
    res = {
        "conditions": "idle",
        "conditions_end": "idle",
        "catalog": {"name": "t", "cards": 3},
        "eval_photos": 10,
        "model": "student.onnx",
        "modes": {"training-free default": mode, "embedding only": mode},
        "baselines": {"phash": {"top1": 0.1, "photos": 10, "ms": lat}},
        "decode_ms": lat,
        "orientation_cost_ms": {"one": 4.0, "both": 7.5},
        "photos_per_s_all_cores": 5.0,
        "photos_per_s_one_core": 3.0,
        "model_photos_per_s_all_cores": 9.5,
        "model_photos_per_s_one_core": 6.25,
        "corners": {
            "found": 1.0,
            "share_under_2pct": 0.5,
            "share_under_5pct": 0.7,
            "median_error_pct": 2.1,
            "detect_ms": {"p50": 30.0, "p95": 41.0},
        },
        "unknown": {
            "threshold": 15,
            "leave_one_out_photos": 5,
            "ooc_accepted": 0.0,
            "in_catalogue_correct_and_accepted": 1.0,
            "card_backs_named": "0/10",
            "real_ooc_card_grader": {"photos": 0, "accepted": 0},
        },
        "calibration": {"min_inliers": {"ooc_accepted": 0.0, "ooc_photos": 5, "accuracy_drop_points": 0}},
        "model_calibration": {"thresholds": {"min_inliers": 14.0, "min_score": 0.7712}},
        "unknown_model": {
            "embedding only": {
                "threshold": 0.7712,
                "leave_one_out_photos": 5,
                "ooc_accepted": 0.2,
                "in_catalogue_correct_and_accepted": 0.8,
                "card_backs_named": "1/10",
                "real_ooc_card_grader": {"photos": 7, "accepted": 2},
            }
        },
        "usearch": usearch_compare([300], d=16, queries=5, dtypes=("f16",), expansion_search=(16,)),
        "scale_100k": scale_check(300, d=16, queries=5),
    }
    md = markdown(res, "pokecard bench recognizer --quick")
    assert "| embedding only | 1.0 / 2.0 |" in md and "| training-free default | 1.0 / 2.0 |" in md
    assert "both orientations 7.5 ms" in md
    assert "| decode | detect |" in md and "total (end to end) |" in md
    assert "detect alone 30.0 ms p50" in md
    assert "| embedding only | 90.0% | 8 / 1 | 1 | 2 |" in md
    assert "Unknown with the model, embedding only (" in md and "14 distinctive inliers, cosine 0.771" in md
    assert (
        "20.0% accepted, in-catalogue correct and accepted 80.0%; card backs named: 1/10; card-grader accepted: 2/7."
        in md
    )
    assert "without a model 5.0 photos/s with all cores, 3.0 with one" in md
    assert "with a model 9.5 with all cores, 6.25 with one." in md
    assert "usearch HNSW (M=16, ef=16) | f16 |" in md and "Scale check" in md


def test_throughput_counts_every_photo_of_every_worker_after_start_up(
    tf_root, built_root, small_catalog, tmp_path
) -> None:  # noqa: ANN001
    """Real worker processes (spawned, as the bench runs them): every photo is recognized once
    and the rate is photos over the span of the timed work, start-up excluded."""
    import time

    from cardlib import photo_of

    from pokecard.bench.recognizer.common import write_jpegs
    from pokecard.bench.recognizer.throughput import photos_per_second

    photos = [(i, photo_of(small_catalog, i, seed=6), None) for i in range(4)]
    files = write_jpegs(photos, tmp_path / "jpg")
    t0 = time.perf_counter()
    rate = photos_per_second(tf_root, files, 2)
    wall = time.perf_counter() - t0
    # 4 photos over less than the whole call (which includes two interpreters starting)
    assert rate > 4 / wall
    assert photos_per_second(tf_root, files[:2], 1) > 0
    # a worker that fails (no reference DB in this root) is an error, not a hang
    with pytest.raises(RuntimeError, match="worker process failed"):
        photos_per_second(built_root, files, 2)
