"""The benchmark's search comparison on a tiny problem: exact usearch must agree with numpy."""

from __future__ import annotations

from pokecard.bench.recognizer import scale_check, usearch_compare


def test_usearch_exact_agrees_with_numpy_brute_force() -> None:
    rows = usearch_compare([400], d=32, queries=25)
    engines = {(r["engine"].split(" (")[0], r["dtype"]) for r in rows}
    assert {
        ("numpy brute force", "f32"),
        ("usearch exact", "f32"),
        ("usearch HNSW", "f16"),
        ("usearch exact", "i8"),
    } <= engines
    exact_f32 = next(r for r in rows if r["engine"] == "usearch exact" and r["dtype"] == "f32")
    assert exact_f32["recall@1"] == 1.0
    assert all(0.0 <= r["recall@1"] <= 1.0 and r["ms_p50"] >= 0 for r in rows)


def test_scale_check_reports_latency_and_recall() -> None:
    r = scale_check(2_000, d=32, queries=20)
    assert r["n"] == 2_000 and r["recall@1"] > 0.9 and r["ms_p50"] > 0
