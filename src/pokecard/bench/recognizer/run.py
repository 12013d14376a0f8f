"""`pokecard bench recognizer`: every part in turn, one report."""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from pokecard.bench import update_doc_section, write_report
from pokecard.bench.recognizer.accuracy import corner_accuracy, run_mode
from pokecard.bench.recognizer.baselines import orb_bruteforce, phash_baseline
from pokecard.bench.recognizer.common import (
    CARD_GRADER,
    TEF,
    held_out_photos,
    latency_summary,
    load_note,
    pick_student,
    write_jpegs,
)
from pokecard.bench.recognizer.report import markdown
from pokecard.bench.recognizer.search import scale_check, usearch_compare
from pokecard.bench.recognizer.throughput import orientation_cost, photos_per_second
from pokecard.bench.recognizer.unknown import unknown_rejection
from pokecard.catalog import build_catalog, load_catalog, synth_catalog
from pokecard.catalog.build import load_processed
from pokecard.errors import ConfigError
from pokecard.imageio import load_rgb
from pokecard.recognize import DECODE_MIN_SIDE, Recognizer
from pokecard.reference.build import build_reference

log = logging.getLogger(__name__)


# -- main -------------------------------------------------------------------------------
def run(quick: bool = False, model: str | None = None) -> dict[str, Any]:
    import cv2

    cv2.setNumThreads(1)
    t_start = time.perf_counter()
    res: dict[str, Any] = {"quick": quick, "conditions": load_note()}
    work = Path(tempfile.mkdtemp(prefix="pokecard-bench-rec-"))
    if TEF.is_dir():
        source = load_catalog(TEF)
    else:
        log.warning("%s not found: benchmarking a synthetic catalogue instead", TEF)
        source = synth_catalog(218, work / "synth", seed=0)
    root = work / "root"
    build_catalog(source, root)
    cat = load_processed(root)
    res["catalog"] = {"name": cat.name, "cards": len(cat.cards)}

    def build(r: Path, model: str | None, mode: str) -> dict[str, Any]:
        """Every reference DB of the run, calibrated the same way (card-grader when present)."""
        return build_reference(
            r,
            model,
            mode=mode,
            progress=False,
            calibration_photos=120 if quick else 150,
            calibrate_with=CARD_GRADER if CARD_GRADER.is_dir() else None,
        )

    t0 = time.perf_counter()
    man = build(root, None, "training-free")
    res["index_build_s"] = round(time.perf_counter() - t0, 1)
    res["calibration"] = man["calibration"]
    row_of = {i: i for i in range(len(cat.cards))}

    rng = np.random.default_rng(0)
    n_cards = 100 if quick else len(cat.cards)
    idx = sorted(rng.choice(len(cat.cards), n_cards, replace=False).tolist())
    photos = held_out_photos(cat, idx, 1 if quick else 2)
    res["eval_photos"] = len(photos)
    files = write_jpegs(photos, work / "photos")  # every mode runs on the JPEG files: decode included
    res["photo_size"] = f"{photos[0][1].shape[1]} x {photos[0][1].shape[0]}"

    modes: dict[str, Any] = {}
    rec = Recognizer(root, threads=1)
    modes["training-free: descriptor-vote shortlist + verification (default without a model)"] = run_mode(
        rec, photos, row_of, files
    )
    rec_g = Recognizer(root, threads=1, verify=False)
    modes["training-free: global layout descriptor only"] = run_mode(rec_g, photos, row_of, files)
    student, res["model_source"] = pick_student(model, TEF.is_dir())
    model_root: Path | None = None  # the embedding DB, once its modes ran
    if student:
        try:
            import shutil

            eroot = work / "root-emb"
            shutil.copytree(root, eroot)
            src = student
            res["model_calibration"] = build(eroot, src, "embedding")["calibration"]
            for name, kw in (
                ("embedding only", {"verify": False}),
                ("embedding shortlist + verification", {"shortlist": "embedding", "embed_first": False}),
                (
                    "embedding + descriptor-vote shortlist + verification, always verified (--always-verify)",
                    {"embed_first": False},
                ),
                (
                    "embedding first, then embedding + descriptor-vote shortlist + verification "
                    "when not decisive (default with a model)",
                    {},
                ),
            ):
                mrec = Recognizer(eroot, threads=1, **kw)
                modes[name] = run_mode(mrec, photos, row_of, files)
                if not kw or kw == {"verify": False}:  # the default with a model, and no verification
                    res.setdefault("unknown_model", {})[name] = unknown_rejection(
                        mrec, photos[: 60 if quick else 150], row_of
                    )
            res["model"] = str(src)
            model_root = eroot
            res["orientation_cost_ms"] = orientation_cost(src, cat.load_image(cat.cards[0]))
        except Exception as e:  # report, do not lose the rest of the run
            log.warning("embedding modes skipped: %s", e)
            res["model"] = f"failed: {e}"
    else:
        res["model"] = None
    res["modes"] = modes
    res["baselines"] = {
        "phash (whole photo)": phash_baseline(cat, photos, crops=False),
        "phash (rectified crop)": phash_baseline(cat, photos, crops=True),
    }
    sub = photos[:: max(1, len(photos) // (10 if quick else 30))]
    res["baselines"]["brute-force ORB + RANSAC vs every card (subset)"] = orb_bruteforce(cat, sub)
    res["corners"] = corner_accuracy(photos)
    res["unknown"] = unknown_rejection(rec, photos[: 60 if quick else 150], row_of)

    # sampled before the all-core throughput step below, which loads every core itself
    res["conditions_end"] = load_note()
    # photos/second with every core (decode included: the photos are JPEG files)
    files = files[:80]
    dec = []
    for f in files:
        t0 = time.perf_counter()
        load_rgb(f, min_side=DECODE_MIN_SIDE)
        dec.append((time.perf_counter() - t0) * 1000)
    res["decode_ms"] = latency_summary(dec)
    res["photos_per_s_all_cores"] = round(photos_per_second(root, files, os.cpu_count() or 1), 2)
    res["photos_per_s_one_core"] = round(photos_per_second(root, files, 1), 2)
    if model_root is not None:  # the default with a model (embedding first)
        res["model_photos_per_s_all_cores"] = round(
            photos_per_second(model_root, files, os.cpu_count() or 1), 2
        )
        res["model_photos_per_s_one_core"] = round(photos_per_second(model_root, files, 1), 2)

    if quick:
        res["usearch"] = usearch_compare([17_592], dtypes=("f16", "i8"), exact_dtypes=("f32", "f16", "i8"))
    else:
        res["usearch"] = usearch_compare([2_000, 17_592], queries=500, connectivity=(8, 16, 32))
    res["scale_100k"] = scale_check(100_000, queries=200 if quick else 500)
    res["wall_s"] = round(time.perf_counter() - t_start, 1)
    return res


def main(quick: bool = False, model: str | None = None) -> dict[str, Any]:
    if model is not None and not Path(model).is_file():
        raise ConfigError(f"--model {model}: no such file (an ONNX student with model_card.json beside it)")
    res = run(quick=quick, model=model)
    cmd = "pokecard bench recognizer" + (" --quick" if quick else "") + (f" --model {model}" if model else "")
    write_report("recognizer", res)
    update_doc_section("recognizer", markdown(res, cmd))
    return res
