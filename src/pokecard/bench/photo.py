"""`pokecard bench photo`: photos/second of the simulator, scene and crop kinds, 1 and N processes.

Cards come from the real catalogue when ``../shared/data/catalog/temporal-forces`` exists,
else from a generated demo catalogue, so the benchmark runs on a fresh clone.
"""

from __future__ import annotations

import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from pokecard.bench import machine, update_doc_section, write_report
from pokecard.catalog import canonical_crop, load_catalog, synth_catalog
from pokecard.photo import PhotoConfig, eval_seed, simulate_crop, simulate_scene, train_seed

REAL = Path("../shared/data/catalog/temporal-forces")
_CARDS: list[np.ndarray] = []


def _load_cards(n: int) -> tuple[list[np.ndarray], str]:
    if (REAL / "metadata.json").is_file():
        cat = load_catalog(REAL)
        src = f"{REAL} ({n} cards)"
    else:
        cat = synth_catalog(n, Path(tempfile.mkdtemp(prefix="pokecard-bench-")), seed=0)
        src = f"synthetic catalogue ({n} cards)"
    return [cat.load_image(c) for c in cat.cards[:n]], src


_CROPS: list[np.ndarray] = []


def _init(cards: list[np.ndarray]) -> None:
    """Scenes start from the scans; crops from the 352 x 252 canonical crops (the training input)."""
    import cv2

    global _CARDS, _CROPS
    cv2.setNumThreads(1)  # one core per process, as in the training pools
    _CARDS = cards
    _CROPS = [canonical_crop(c) for c in cards]


def _one(args: tuple[str, str, int]) -> int:
    kind, preset, i = args
    cfg = PhotoConfig.preset(preset)
    card = _CARDS[i % len(_CARDS)]
    if kind == "scene":
        simulate_scene(card, train_seed(i % len(_CARDS), i), cfg, distractors=_CARDS[:3])
    else:
        simulate_crop(_CROPS[i % len(_CROPS)], train_seed(i % len(_CARDS), i), cfg)
    return i


def _rate(
    kind: str, preset: str, n: int, workers: int, cards: list[np.ndarray]
) -> tuple[float, float | None]:
    """(photos per wall-clock second, photos per CPU second of one process or None)."""
    jobs = [(kind, preset, i) for i in range(n)]
    if workers == 1:
        _init(cards)
        _one(jobs[0])  # warm-up (imports, card back)
        t, c = time.perf_counter(), time.process_time()
        for j in jobs:
            _one(j)
        return n / (time.perf_counter() - t), n / max(1e-9, time.process_time() - c)
    with ProcessPoolExecutor(workers, initializer=_init, initargs=(cards,)) as ex:
        list(ex.map(_one, jobs[:workers]))
        t = time.perf_counter()
        list(ex.map(_one, jobs, chunksize=4))
        return n / (time.perf_counter() - t), None


def _tiny(img: np.ndarray) -> np.ndarray:
    """A 24 x 32 Lab thumbnail, mean-removed and L2-normalized: the weakest sensible matcher."""
    import cv2

    g = cv2.cvtColor(cv2.resize(img, (24, 32), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2LAB)
    v = g.astype(np.float32).ravel()
    v -= v.mean()
    return v / (np.linalg.norm(v) + 1e-9)


def difficulty(n_cards: int, views: int = 2) -> dict[str, Any]:
    """Top-1 accuracy of a tiny-thumbnail nearest neighbour on eval crops, real vs synthetic.

    Not a recognizer: a yardstick that the synthetic catalogue is no easier than a real set
    (if it were, the demo would flatter every model), and of how hard the eval preset is.
    """
    cats = []
    if (REAL / "metadata.json").is_file():
        cats.append(("real (temporal-forces)", load_catalog(REAL)))
    cats.append(
        ("synthetic", synth_catalog(n_cards, Path(tempfile.mkdtemp(prefix="pokecard-bench-")), seed=0))
    )
    out: dict[str, Any] = {}
    for name, cat in cats:
        cards = [canonical_crop(cat.load_image(c)) for c in cat.cards[:n_cards]]
        gallery = np.stack([_tiny(c) for c in cards])
        row: dict[str, Any] = {"cards": len(cards), "queries": len(cards) * views}
        for preset in ("eval", "hard"):
            cfg = PhotoConfig.preset(preset).replace(crop_rotate180_p=0.0)
            hits = [
                int(np.argmax(gallery @ _tiny(simulate_crop(c, eval_seed(i, k), cfg))) == i)
                for i, c in enumerate(cards)
                for k in range(views)
            ]
            row[f"top1_{preset}"] = round(float(np.mean(hits)), 3)
        out[name] = row
    return out


def load_average() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def main(quick: bool = False) -> dict[str, Any]:
    cards, src = _load_cards(16)
    n = 16 if quick else 80
    workers = min(2, os.cpu_count() or 1)
    load = load_average()
    rows = []
    for kind, preset in (("scene", "eval"), ("scene", "hard"), ("crop", "train"), ("crop", "hard")):
        for w in sorted({1, workers}):
            wall, cpu = _rate(kind, preset, n, w, cards)
            rows.append(
                {
                    "kind": kind,
                    "preset": preset,
                    "workers": w,
                    "photos_per_s": round(wall, 1),
                    "photos_per_cpu_s": None if cpu is None else round(cpu, 1),
                }
            )
    hardness = difficulty(40 if quick else 200)
    result = {
        "difficulty_tiny_thumbnail_top1": hardness,
        "source": src,
        "photos_per_config": n,
        "scene_size_hw": [720, 960],
        "crop_size_hw": [352, 252],
        "load_average_1m_before": round(load, 2),
        "contended": bool(load > 0.5 * (os.cpu_count() or 1)),
        "rows": rows,
        "command": "pokecard bench photo" + (" --quick" if quick else ""),
    }
    write_report("photo", result)
    update_doc_section("photo", markdown(result))
    return result


def markdown(r: dict[str, Any]) -> str:
    lines = [
        f"`{r['command']}` on {machine()}; cards from {r['source']}; scene photos 720x960 (with distractor "
        "cards) from the scans, crops 352x252 from the canonical crops, OpenCV on one thread per process. "
        "*photos/s* is wall clock; *per CPU-s* is photos per CPU second of one "
        "process, which shared machines distort much less.",
        f"Load average before the run: {r['load_average_1m_before']}"
        + (
            " (the machine was shared with other jobs: wall-clock numbers are pessimistic)."
            if r["contended"]
            else "."
        ),
        "",
        "| kind | preset | processes | photos/s | per CPU-s |",
        "|---|---|---:|---:|---:|",
    ]
    lines += [
        f"| {x['kind']} | {x['preset']} | {x['workers']} | {x['photos_per_s']} | "
        f"{'' if x.get('photos_per_cpu_s') is None else x['photos_per_cpu_s']} |"
        for x in r["rows"]
    ]
    d = r.get("difficulty_tiny_thumbnail_top1")
    if d:
        lines += [
            "",
            "How hard the data is: top-1 of a 24x32 Lab thumbnail nearest neighbour (no learning) on "
            "crops (2 per card, upright). The synthetic catalogue must not be easier than a real set.",
            "",
            "| catalogue | cards | queries | top-1 eval | top-1 hard |",
            "|---|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {k} | {v['cards']} | {v['queries']} | {v['top1_eval']} | {v['top1_hard']} |"
            for k, v in d.items()
        ]
    return "\n".join(lines)


def run(quick: bool = False) -> dict[str, Any]:
    """Entry point of the `pokecard.bench` convention."""
    return main(quick=quick)
