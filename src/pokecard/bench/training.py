"""`pokecard bench training`: what training reaches on this machine.

Two measurements, each optional, merged into ``reports/bench_training.json`` (a partial run
keeps the other part from the previous report) and into the ``training`` block of
docs/benchmarks.md:

* ``demo``: `pokecard demo` end to end (generated catalogue, demo preset) - the held-out
  top-1 of the student ONNX and the recognizer, and the time per stage;
* ``real``: the demo architectures on a real catalogue (default: the 218 scans of
  ../shared/data/catalog/temporal-forces) with a wall-clock budget split between teacher
  (20 %) and student (65 %) - what that budget reaches, images/second per stage and
  where the time goes.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from pokecard.bench import REPORTS, machine, update_doc_section, write_report
from pokecard.demo import accuracy_rows, run_demo
from pokecard.train.config import DEMO
from pokecard.train.pipeline import train


def _load_previous() -> dict[str, Any]:
    p = REPORTS / "bench_training.json"
    try:
        return json.loads(p.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def _contention() -> str:
    try:
        load = os.getloadavg()
        return f"load average {load[0]:.1f}/{load[1]:.1f} on {os.cpu_count()} cores at the end of the run"
    except OSError:
        return "load unknown"


# Budget split for the real-catalogue run: the demo tuning showed the teacher's own accuracy
# barely moves the student (docs/training.md, "Demo tuning"), so the student gets most.
TEACHER_SHARE, STUDENT_SHARE = 0.2, 0.65


def real_preset(minutes: float, threads: int = 0) -> Any:
    """The demo architectures (and losses) sized for a real catalogue and a wall-clock budget."""
    return dataclasses.replace(
        DEMO,
        name=f"demo-arch-{minutes:g}min",
        teacher=dataclasses.replace(
            DEMO.teacher, epochs=10_000, steps_per_epoch=20, max_minutes=TEACHER_SHARE * minutes
        ),
        student=dataclasses.replace(DEMO.student, epochs=10_000, max_minutes=STUDENT_SHARE * minutes),
        data=dataclasses.replace(DEMO.data, views_per_card=24, eval_photos_per_card=3),
        threads=threads,
        version="bench",
    )


def run_real(catalog: Path, minutes: float, root: Path | None = None, threads: int = 0) -> dict[str, Any]:
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pokecard-bench-train-") as d:
        res = train(
            root or Path(d) / "root",
            catalog=catalog,
            preset=real_preset(minutes, threads),
            track=False,
            stages=["catalog", "teacher", "gallery", "student", "evaluate", "export"],
        )
    out = {
        "catalog": str(catalog),
        "budget_minutes": minutes,
        "wall_s": round(time.perf_counter() - t0, 1),
        "threads": threads or "torch default",
        "stages": {
            s.stage: {
                "status": s.status,
                "seconds": round(s.seconds, 1),
                "images_per_s": s.images_per_s,
                "epochs": s.epochs_run,
                "note": s.note,
                "metrics": {k: v for k, v in s.metrics.items() if not k.endswith(".n")},
            }
            for s in res.stages
        },
        "contention": _contention(),
    }
    return out


def run(
    quick: bool = False,
    minutes: float = 30.0,
    catalog: Path | None = None,
    *,
    demo: bool = True,
    real: bool = True,
    threads: int = 0,
) -> dict[str, Any]:
    prev = _load_previous()
    result: dict[str, Any] = {k: prev[k] for k in ("demo", "real") if k in prev}
    if demo:
        with tempfile.TemporaryDirectory(prefix="pokecard-bench-demo-") as d:
            t0 = time.perf_counter()
            doc = run_demo(Path(d) / "root", report=REPORTS / "demo.json")
            result["demo"] = {
                **doc,
                "wall_s": round(time.perf_counter() - t0, 1),
                "contention": _contention(),
                "command": "pokecard bench training (runs `pokecard demo`)",
            }
    elif (REPORTS / "demo.json").is_file():
        # The last `make demo` / `pokecard demo` run (its report is what this block shows).
        doc = json.loads((REPORTS / "demo.json").read_text())
        result["demo"] = {**doc, "command": "make demo (pokecard demo --out work/demo)"}
    catalog = catalog or Path("../shared/data/catalog/temporal-forces")
    if real and not quick:
        if (catalog / "metadata.json").is_file():
            result["real"] = {
                **run_real(catalog, minutes, threads=threads),
                "command": f"pokecard bench training --no-demo --minutes {minutes:g}"
                + (f" --threads {threads}" if threads else ""),
            }
        else:
            result["real"] = {"skipped": f"{catalog} not found (shared data absent)"}
    result["python"] = platform.python_version()
    write_report("training", result)
    update_doc_section("training", markdown({**result, "machine": machine()}))
    return result


def _pct(x: Any) -> str:
    return f"{100 * x:.1f} %" if isinstance(x, (int, float)) else "-"


def markdown(r: dict[str, Any]) -> str:
    lines = [
        "## Training",
        "",
        f"Machine: {r.get('machine', machine())}; no GPU; every model from random init "
        "(no pretrained weights reachable).",
    ]
    d = r.get("demo")
    if d:
        h, w = DEMO.student.input_size
        lines += [
            "",
            f"### Demo preset (`{d.get('command', 'pokecard demo')}`)",
            "",
            f"{d['cards']} generated cards (near-duplicates included), teacher DINOv3 ViT-Ti/16 "
            f"({DEMO.teacher.model}) + 768 head, student {DEMO.student.model} + 768 head, {h} x {w} px. "
            f"Wall time {d['timing']['total_s']:.0f} s (training pipeline {d['timing'].get('train_pipeline_s', 0):.0f} s); "
            f"{d.get('contention', '')}.",
            "",
            "| held-out photos | n | top-1 | top-5 | margin mean | margin p5 |",
            "|---|---|---|---|---|---|",
        ]
        for x in accuracy_rows(d):
            lines.append(
                f"| {x['label']} | {x['n']} | {_pct(x['top1'])} | {_pct(x['top5'])} | "
                f"{x['margin_mean']:.3f} | {x['margin_p5']:.3f} |"
            )
        lines += ["", "| stage | seconds | images/s |", "|---|---|---|"]
        for k, s in d.get("stages", {}).items():
            ips = f"{s['images_per_s']:.1f}" if s.get("images_per_s") else ""
            lines.append(f"| {k} | {s['seconds']} | {ips} |")
        skipped = [k for k, s in d.get("stages", {}).items() if s.get("status") == "skipped"]
        if skipped:
            lines.append(
                f"\nSkipped (inputs unchanged since the previous run, outputs reused): {', '.join(skipped)}."
            )
    x = r.get("real")
    if x and "stages" in x:
        st = x["stages"]
        ev = st.get("evaluate", {}).get("metrics", {})
        lines += [
            "",
            f"### Real catalogue, {x['budget_minutes']:g}-minute budget (`{x['command']}`)",
            "",
            f"{x['catalog']}; demo architectures and losses at 96 x 64 px, budget split teacher {TEACHER_SHARE:.0%} / student {STUDENT_SHARE:.0%}; "
            f"wall {x['wall_s']:.0f} s; {x['contention']}.",
            "",
            "| held-out crops (eval seeds) | top-1 | top-5 | margin mean | margin p5 |",
            "|---|---|---|---|---|",
        ]
        for k in ("teacher->teacher", "student->teacher", "student->student"):
            if f"{k}.top1" in ev:
                lines.append(
                    f"| {k} | {_pct(ev[f'{k}.top1'])} | {_pct(ev[f'{k}.top5'])} | "
                    f"{ev[f'{k}.margin_mean']:.3f} | {ev[f'{k}.margin_p5']:.3f} |"
                )
        lines += ["", "| stage | seconds | images/s | epochs | note |", "|---|---|---|---|---|"]
        for k, s in st.items():
            ips = f"{s['images_per_s']:.1f}" if s.get("images_per_s") else ""
            lines.append(f"| {k} | {s['seconds']} | {ips} | {s.get('epochs', '')} | {s.get('note', '')} |")
    elif x:
        lines += ["", f"Real catalogue: {x.get('skipped')}"]
    lines += [
        "",
        "GPU (full preset): measured once on a lent GPU machine with `bash scripts/gpu/run.sh`, "
        "which `make bench` cannot rerun here; see the section *Training on a GPU* below.",
    ]
    return "\n".join(lines)
