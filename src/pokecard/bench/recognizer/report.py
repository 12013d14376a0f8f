"""The benchmark's block of docs/benchmarks.md."""

from __future__ import annotations

import logging
from typing import Any

from pokecard.bench import machine

log = logging.getLogger(__name__)


def markdown(res: dict[str, Any], command: str) -> str:
    L = [
        "## Recognizer",
        "",
        f"Command: `{command}` on {machine()}; {res['conditions']} at the start, {res.get('conditions_end')} after the one-thread measurements. "
        "Timings are on one thread and inflated by the CPU contention when it says so.",
        "",
        f"Catalogue: {res['catalog']['name']} ({res['catalog']['cards']} cards); {res['eval_photos']} held-out simulated photos "
        "(pokecard.photo eval preset, eval seeds). Model: "
        + (
            f"{res['model']} ({res.get('model_source', '?')})"
            if res["model"]
            else "none found (no trained student): embedding modes not measured"
        ),
        "",
        f"Every mode runs on the photos saved as JPEG files (quality 90, {res.get('photo_size', '?')} px), as a user runs them "
        "(`recognize_file`): ms/photo is end to end, JPEG decode included, on one thread.",
        "",
        "| mode | top-1 | accepted (status ok) right / wrong | ms/photo p50 | p95 |",
        "|---|---|---|---|---|",
    ]
    for name, m in res["modes"].items():
        acc = f"{m['accepted_right']} / {m['accepted_wrong']}" if "accepted_right" in m else ""
        L.append(
            f"| {name} | {m['top1']:.1%} | {acc} | {m['ms']['total']['p50']:.0f} | {m['ms']['total']['p95']:.0f} |"
        )
    for name, m in res["baselines"].items():
        L.append(
            f"| baseline: {name} ({m['photos']} photos) | {m['top1']:.1%} | | {m['ms']['p50']:.0f} | {m['ms']['p95']:.0f} |"
        )
    L += [
        "",
        "Per stage, every mode, one thread (ms, p50 / p95; decode alone, measured apart: "
        f"{res['decode_ms']['p50']} / {res['decode_ms']['p95']}):",
        "",
        "| mode | decode | detect | embed (+ORB) | search (+votes) | verify | total (end to end) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, m in res["modes"].items():
        ms = m["ms"]
        L.append(
            f"| {name} | "
            + " | ".join(
                f"{ms[k]['p50']} / {ms[k]['p95']}" if k in ms else "-"
                for k in ("decode", "detect", "embed", "search", "verify", "total")
            )
            + " |"
        )
    if res.get("orientation_cost_ms"):
        o = res["orientation_cost_ms"]
        L += [
            "",
            f"Orientation (the 180-degree ambiguity after the warp): embedding one crop {o['one']} ms, "
            f'both orientations {o["both"]} ms (p50, one thread); the modes above embed the turned crop only when the first orientation is not decisive (`orientations="sequential"`).',
        ]
    L += [
        "",
        "Throughput (decode included, after start-up: every worker process loads the DB and "
        f"recognizes one photo before the clock starts): default without a model {res['photos_per_s_all_cores']} "
        f"photos/s with all cores, {res['photos_per_s_one_core']} with one"
        + (
            f"; default with a model {res['model_photos_per_s_all_cores']} with all cores, "
            f"{res['model_photos_per_s_one_core']} with one."
            if "model_photos_per_s_all_cores" in res
            else "."
        ),
    ]
    c = res["corners"]
    L += [
        "",
        f"Corners: quad found in {c['found']:.1%} of photos; mean corner error < 2% of card height in {c['share_under_2pct']:.1%} (< 5%: {c['share_under_5pct']:.1%}; median {c['median_error_pct']}%); detect alone {c['detect_ms']['p50']} ms p50 / {c['detect_ms']['p95']} ms p95 on one thread.",
    ]
    u = res["unknown"]
    cal = res["calibration"].get("min_inliers", {})
    L += [
        "",
        f"Unknown (threshold {u['threshold']:g} distinctive inliers, calibrated at build time: {cal.get('ooc_accepted', 0):.1%} of {cal.get('ooc_photos')} calibration out-of-catalogue photos accepted, in-catalogue drop {cal.get('accuracy_drop_points')} points): "
        f"on {u['leave_one_out_photos']} fresh leave-one-out photos {u['ooc_accepted']:.1%} accepted, in-catalogue correct and accepted {u['in_catalogue_correct_and_accepted']:.1%}; "
        f"card backs named: {u['card_backs_named']}; real out-of-catalogue photos (card-grader) accepted: {u['real_ooc_card_grader']['accepted']}/{u['real_ooc_card_grader']['photos']}.",
    ]
    mcal = res.get("model_calibration") or {}
    thr = mcal.get("thresholds", {})
    for name, u in (res.get("unknown_model") or {}).items():
        L.append("")
        L.append(
            f"Unknown with the model, {name} (the embedding DB's thresholds, calibrated at build time: "
            f"{thr.get('min_inliers', '?'):g} distinctive inliers, cosine {thr.get('min_score', float('nan')):.3f}): "
            f"on {u['leave_one_out_photos']} fresh leave-one-out photos {u['ooc_accepted']:.1%} accepted, "
            f"in-catalogue correct and accepted {u['in_catalogue_correct_and_accepted']:.1%}; "
            f"card backs named: {u['card_backs_named']}; card-grader accepted: "
            f"{u['real_ooc_card_grader']['accepted']}/{u['real_ooc_card_grader']['photos']}."
        )
    L += [
        "",
        "usearch (one thread; 768-d clustered unit vectors with near-duplicate groups; queries = catalogue "
        "vectors moved to cosine 0.7-0.9; recall@1 against numpy brute force):",
        "",
        "| n | engine | dtype | recall@1 | ms/query p50 | p95 |",
        "|---|---|---|---|---|---|",
    ]
    for r in res["usearch"]:
        L.append(
            f"| {r['n']:,} | {r['engine']} | {r['dtype']} | {r['recall@1']} | {r['ms_p50']} | {r.get('ms_p95', '')} |"
        )
    s = res["scale_100k"]
    L += [
        "",
        f"Scale check (the default search for this size): {s['n']:,} x {s['dim']} {s['dtype']} {s['engine']}: p50 {s['ms_p50']} ms, p95 {s['ms_p95']} ms per query on one thread, recall@1 {s['recall@1']} (build {s['build_s']} s)"
        + (
            "; the same index at other expansion_search: "
            + ", ".join(f"ef={r['expansion_search']} {r['recall@1']} / {r['ms_p50']} ms" for r in s["sweep"])
            if s.get("sweep")
            else ""
        )
        + ".",
        "",
    ]
    return "\n".join(L)
