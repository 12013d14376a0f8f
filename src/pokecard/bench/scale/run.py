"""`pokecard bench scale`: every catalogue size and mode in turn, one report."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from pokecard.bench import DOC, update_doc_section, write_report
from pokecard.bench.recognizer.common import CARD_GRADER, SHIPPED_STUDENT, TEF, load_note
from pokecard.bench.scale.data import MODES, Source, build_root, load_cost, real_source, synth_source
from pokecard.bench.scale.measure import eval_photos, recognition
from pokecard.bench.scale.report import markdown, plot, targets
from pokecard.bench.scale.vectors import vector_scale
from pokecard.errors import ConfigError

log = logging.getLogger(__name__)

SIZES = (2_000, 5_000, 17_592)
QUICK_SIZES = (2_000, 17_592)
WORK = Path("work/bench-scale")
PLOT = Path("docs/img/scale.png")
VECTORS = 100_000  # the embedding path measured at this many cards (synthetic vectors; bench.scale.vectors)


def run(  # noqa: PLR0913 - one keyword per command-line option
    sizes: tuple[int, ...] = SIZES,
    *,
    photos: int = 100,
    modes: tuple[str, ...] = MODES,
    work: Path = WORK,
    fresh: bool = False,
    real: Path | None = TEF,
    model: str | None = str(SHIPPED_STUDENT),
    calibrate_with: Path | None = CARD_GRADER,
    calibrate: bool = True,
    seed: int = 0,
    workers: int = 2,
    vectors: int = VECTORS,
) -> dict[str, Any]:
    """Build, load and recognize with the reference DB of each catalogue (``real``, when that
    folder exists, then ``sizes`` generated cards) in each mode; one row per (catalogue, mode)."""
    bad = [m for m in modes if m not in MODES]
    if bad:
        raise ConfigError(f"unknown mode(s) {', '.join(bad)}: use {' or '.join(MODES)}")
    if "embedding" in modes and (model is None or not Path(model).is_file()):
        raise ConfigError(f"--model {model}: no such file (the embedding mode needs a student ONNX)")
    if not calibrate or (calibrate_with is not None and not Path(calibrate_with).is_dir()):
        calibrate_with = None
    if calibrate_with is not None:
        calibrate_with = Path(calibrate_with).resolve()  # the cache key: the same from any folder
    t_start = time.perf_counter()
    work = Path(work)
    res: dict[str, Any] = {
        "sizes": list(sizes),
        "modes": list(modes),
        "photos": photos,
        "seed": seed,
        "work": str(work),
        "embedding_model": model if "embedding" in modes else None,
        "calibrate_with": str(calibrate_with) if calibrate_with else None,
        "calibrated": calibrate,
        "conditions": load_note(),
        "notes": [],
    }
    sources: list[Source] = []
    if real is not None:
        src = real_source(Path(real))
        if src is None:
            res["notes"].append(f"the real catalogue {real} is not here: its rows are skipped")
            log.warning("%s not found: the real catalogue's rows are skipped", real)
        else:
            sources.append(src)
    for n in sizes:
        sources.append(synth_source(work, n, seed, fresh, workers))
    res["catalogues"] = [
        {"key": s.key, "cards": s.cards, "real": s.real, "near_duplicates": s.near_duplicates()}
        for s in sources
    ]
    rows = []
    if not calibrate:
        res["notes"].append("built with --no-calibrate: default unknown thresholds, no calibration stage")
    build = {"model": model, "calibrate_with": calibrate_with, "fresh": fresh, "calibrate": calibrate}
    for src in sources:
        rows += [_row(work, src, mode, build, photos, seed) for mode in modes]
    res["rows"] = rows
    if vectors:
        res["vectors"] = _vectors(rows, work, photos, seed, vectors)
    res["conditions_end"] = load_note()
    res["wall_s"] = round(time.perf_counter() - t_start, 1)
    return res


def _row(work: Path, src: Source, mode: str, build: dict[str, Any], photos: int, seed: int) -> dict[str, Any]:
    """Build (or reuse), load and recognize one catalogue in one mode; a failure is reported in the row."""
    label = f"{src.cards:,} cards, {mode}"
    log.info("== %s", label)
    row: dict[str, Any] = {"cards": src.cards, "real": src.real, "catalogue": src.key, "mode": mode}
    try:
        root, row["build"] = build_root(work, src, mode, **build)
        row["load"] = load_cost(root)
        shots, files = eval_photos(root, work / "photos" / f"{src.key}-{mode}", photos, seed)
        row["recognition"] = recognition(root, shots, files, label)
    except Exception as e:  # report, do not lose the other sizes
        log.warning("%s failed: %s", label, e)
        row["error"] = str(e)[:300]
    row["targets"] = targets(row)
    return row


def _vectors(
    rows: list[dict[str, Any]], work: Path, photos: int, seed: int, total: int
) -> dict[str, Any] | None:
    """The embedding path at ``total`` cards (synthetic vectors joining the largest generated
    catalogue's embedding DB); None when no embedding row of a generated catalogue was built."""
    done = [r for r in rows if r["mode"] == "embedding" and not r.get("real") and "error" not in r]
    if not done or total <= max(r["cards"] for r in done):
        return None
    row = max(done, key=lambda r: r["cards"])
    root = work / "roots" / row["catalogue"] / "embedding"
    try:
        shots, _ = eval_photos(root, work / "photos" / f"{row['catalogue']}-embedding", photos, seed)
        return vector_scale(root, shots, total, seed)
    except Exception as e:  # report, keep the rows
        log.warning("the %d-vector measurement failed: %s", total, e)
        return {"error": str(e)[:300], "total": total}


def main(  # noqa: PLR0913 - one keyword per command-line option
    quick: bool = False,
    sizes: tuple[int, ...] | None = None,
    photos: int | None = None,
    work: Path = WORK,
    fresh: bool = False,
    model: str | None = str(SHIPPED_STUDENT),
    modes: tuple[str, ...] = MODES,
    real: Path | None = TEF,
    calibrate_with: Path | None = CARD_GRADER,
    calibrate: bool = True,
    doc: Path | None = None,
    plot_path: Path = PLOT,
    cmd: str = "pokecard bench scale",
    vectors: int = VECTORS,
) -> dict[str, Any]:
    """Run, then write reports/bench_scale.json, the plot and the block in docs/benchmarks.md."""
    sizes = sizes or (QUICK_SIZES if quick else SIZES)
    photos = photos or (40 if quick else 100)
    res = run(
        sizes, photos=photos, modes=modes, work=work, fresh=fresh, real=real, model=model,
        calibrate_with=calibrate_with, calibrate=calibrate, vectors=vectors,
    )  # fmt: skip
    res["quick"] = quick
    res["machine_note"] = res["conditions"]
    doc = doc or DOC
    res["plot"] = str(plot(res, plot_path))
    try:
        res["plot_rel"] = str(Path(plot_path).resolve().relative_to(Path(doc).resolve().parent))
    except ValueError:
        res["plot_rel"] = str(Path(plot_path).resolve())
    res["report"] = str(write_report("scale", res))
    update_doc_section("scale", markdown(res, cmd), doc)
    return res
