"""Stage evaluate: held-out retrieval metrics of teacher and student, and which gallery the student is searched against."""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from pokecard import layout
from pokecard.modelcard import ModelCard
from pokecard.train.run import Run, StageResult, today
from pokecard.train.tracking import append_csv

log = logging.getLogger(__name__)


def choose_gallery(metrics: dict[str, dict[str, float]]) -> tuple[str, str]:
    """The gallery the device should search: the better of student->teacher and
    student->student by top-1, then 5th-percentile margin (robustness on hard photos)."""
    a, b = metrics["student->teacher"], metrics["student->student"]
    ka, kb = (a["top1"], a["margin_p5"]), (b["top1"], b["margin_p5"])
    if kb >= ka:
        return "student", (
            f"student->student gallery top-1 {b['top1']:.3f} (p5 margin {b['margin_p5']:.3f}) >= "
            f"student->teacher {a['top1']:.3f} ({a['margin_p5']:.3f}); it also needs no teacher "
            "to add a card"
        )
    return "teacher", (
        f"student->teacher gallery top-1 {a['top1']:.3f} (p5 margin {a['margin_p5']:.3f}) > "
        f"student->student {b['top1']:.3f} ({b['margin_p5']:.3f})"
    )


def stage_evaluate(run: Run, h: str, res: StageResult) -> None:
    from pokecard.train.losses import retrieval_metrics

    v = run.v
    teacher, tcard = run.load_net(layout.teacher_checkpoint(v), layout.teacher_dir(v))
    student, scard = run.load_net(layout.student_checkpoint(v), layout.student_dir(v))
    photos, labels = run.eval_photos()
    tgal = run.gallery()
    t0 = time.perf_counter()
    t_q = run.embed(teacher, tcard, photos)
    t_teacher = time.perf_counter() - t0
    t0 = time.perf_counter()
    s_q = run.embed(student, scard, photos)
    t_student = time.perf_counter() - t0
    s_gal = run.embed(student, scard, run.cards)
    metrics = {
        "teacher->teacher": retrieval_metrics(t_q, tgal, labels),
        "student->teacher": retrieval_metrics(s_q, tgal, labels),
        "student->student": retrieval_metrics(s_q, s_gal, labels),
    }
    default, why = choose_gallery(metrics)
    report = {
        "version": v,
        "preset": run.cfg.name,
        "photos": int(len(labels)),
        "cards": len(run.cards),
        "photo_config": run.cfg.data.eval_photo_config,
        "seeds": f"eval_seed(card_index, k), k < {run.cfg.data.eval_photos_per_card}",
        "metrics": metrics,
        "default_gallery": default,
        "why": why,
        "embed_images_per_s": {"teacher": len(photos) / t_teacher, "student": len(photos) / t_student},
    }
    key = f"{layout.student_dir(v)}/{layout.EVAL_REPORT}"
    run.store.put_json(key, report)
    scard.metrics = {
        **scard.metrics,
        **{f"{k}.{m}": x for k, d in metrics.items() for m, x in d.items()},
        "default_gallery": default,
    }
    scard.extra = {**scard.extra, "default_gallery": default}
    run.store.put_json(layout.model_card(layout.student_dir(v)), scard.as_dict())
    tcard.metrics = {
        **tcard.metrics,
        **{f"teacher->teacher.{m}": x for m, x in metrics["teacher->teacher"].items()},
    }
    run.store.put_json(layout.model_card(layout.teacher_dir(v)), tcard.as_dict())
    res.outputs = {key: run.sha_of(key)}
    res.metrics = {
        **{f"{k}.{m}": x for k, d in metrics.items() for m, x in d.items()},
        "default_gallery": default,
    }
    res.images_per_s = len(photos) / t_student
    res.note = why
    run.tracker.log_metrics({f"eval.{k}.{m}": x for k, d in metrics.items() for m, x in d.items()})
    rows = [
        {
            "date": today(),
            "run_id": run.tracker.run_id or "",
            "version": v,
            "preset": run.cfg.name,
            "catalog": run.catalog_hash[:16],
            "cards": len(run.cards),
            "query_model": k.split("->")[0],
            "gallery": k.split("->")[1],
            "photos": d["n"],
            "top1": round(d["top1"], 4),
            "top5": round(d["top5"], 4),
            "margin_mean": round(d["margin_mean"], 4),
            "margin_p5": round(d["margin_p5"], 4),
            "default": k == f"student->{default}",
        }
        for k, d in metrics.items()
    ]
    append_csv(run.store, layout.MODEL_PERFORMANCE, rows)


def cpu_latency_ms(net: Any, card: ModelCard, repeats: int = 8) -> float:
    import torch

    net = net.eval().to("cpu")
    x = torch.randn(1, 3, *card.input_size)
    with torch.no_grad():
        for _ in range(2):
            net(x)
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            net(x)
            ts.append(time.perf_counter() - t0)
    return float(np.median(ts) * 1000)
