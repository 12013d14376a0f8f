"""What the recognizer benchmark's parts share: the data it reads, the student it picks, held-out photos and their JPEGs, percentiles."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from pokecard.catalog.model import Catalog
from pokecard.model_files import find_student
from pokecard.photo import PhotoConfig, eval_seed, simulate_scene

log = logging.getLogger(__name__)


SHARED = Path("../shared/data")


TEF = SHARED / "catalog" / "temporal-forces"


CARD_GRADER = SHARED / "photos" / "card-grader" / "images"


# The released student for the 218-card catalogue (GPU-trained, int8; models/.../README.md):
# the model rows' default when benchmarking that catalogue and no other student is given.
SHIPPED_STUDENT = Path("models/temporal-forces-student/student_stage2_final_int8.onnx")


def pick_student(model: str | None, real_catalogue: bool) -> tuple[str | None, str]:
    """(the student the embedding rows use, where it came from): ``--model``, then
    ``POKECARD_BENCH_MODEL``, then the newest student under ``POKECARD_ROOT`` (default
    work/root), then the released one when the catalogue is the one it was trained on."""
    if model:
        return model, "--model"
    if os.environ.get("POKECARD_BENCH_MODEL"):
        return os.environ["POKECARD_BENCH_MODEL"], "POKECARD_BENCH_MODEL"
    proj = Path(os.environ.get("POKECARD_ROOT", "work/root"))
    if proj.is_dir() and (key := find_student(proj)):
        return str(proj / key), f"the newest student under {proj}"
    if real_catalogue and SHIPPED_STUDENT.is_file():
        return str(SHIPPED_STUDENT), "the released 218-card student (models/temporal-forces-student)"
    return None, "none"


# -- helpers ----------------------------------------------------------------------------
def percentile(xs: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(xs, dtype=np.float64), q)) if xs else float("nan")


def latency_summary(xs: list[float]) -> dict[str, float]:
    return {"p50": round(percentile(xs, 50), 2), "p95": round(percentile(xs, 95), 2)}


def load_note() -> str:
    try:
        load = os.getloadavg()[0]
    except OSError:
        return "unknown"
    return f"load average {load:.1f} on {os.cpu_count()} cores" + (
        " (contended: other jobs were running)" if load > 1.2 else ""
    )


def held_out_photos(
    catalog: Catalog, idx: list[int], per_card: int
) -> list[tuple[int, np.ndarray, np.ndarray]]:
    out = []
    for i in idx:
        img = catalog.load_image(catalog.cards[i])
        for k in range(per_card):
            photo, corners = simulate_scene(img, eval_seed(i, k), PhotoConfig.eval())
            out.append((i, photo, corners))
    return out


def write_jpegs(photos: list[tuple[int, np.ndarray, np.ndarray]], out: Path, quality: int = 90) -> list[Path]:
    """The photos as JPEG files (what a camera or phone gives the recognizer)."""
    import cv2

    out.mkdir(parents=True, exist_ok=True)
    files = []
    for j, (_, photo, _) in enumerate(photos):
        f = out / f"{j:03d}.jpg"
        cv2.imwrite(str(f), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        files.append(f)
    return files
