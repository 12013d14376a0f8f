"""The training pipeline: resumable, skippable stages over one project root.

Stages (``STAGES``): catalog -> teacher -> gallery -> student -> evaluate -> export ->
reference. Each stage hashes its inputs (catalogue content hash, its config section, the
sha256 of the upstream artifacts and of any weights file) and writes a stamp
(``layout.training_stamp``) with the hash and the sha256 of its outputs; a rerun whose
hash matches and whose outputs are intact skips the stage. The two training stages write a
checkpoint every epoch (``RESUME_CHECKPOINT`` beside the model) and a rerun with the same
inputs resumes from it.

The parts: ``run`` (the invocation's state and stamps), ``trainer`` (one network's training
loop), one ``stage_<name>`` module per stage, and this module, which runs them in order.
"""

from __future__ import annotations

import json
import logging
import os
import time

from pokecard import layout
from pokecard.catalog import build_catalog
from pokecard.errors import ConfigError
from pokecard.store import open_store, sha256_bytes
from pokecard.train.config import STAGES, TrainConfig, load_preset
from pokecard.train.run import Run, StageResult, TrainResult
from pokecard.train.stage_evaluate import stage_evaluate
from pokecard.train.stage_export import stage_export
from pokecard.train.stage_gallery import stage_gallery
from pokecard.train.stage_reference import stage_reference
from pokecard.train.stage_student import stage_student
from pokecard.train.stage_teacher import stage_teacher
from pokecard.train.tracking import open_tracker, record_run_index, update_lineage

log = logging.getLogger(__name__)


STAGE_FUNCS = {
    "teacher": stage_teacher,
    "gallery": stage_gallery,
    "student": stage_student,
    "evaluate": stage_evaluate,
    "export": stage_export,
    "reference": stage_reference,
}


def train(  # noqa: PLR0913 - one keyword per `pokecard train` option
    root: str | os.PathLike[str] | None,
    *,
    catalog: str | os.PathLike[str] | None = None,
    preset: str | TrainConfig = "demo",
    stages: list[str] | None = None,
    teacher_weights: str | None = None,
    student_weights: str | None = None,
    trace: bool = False,
    force: bool = False,
    track: bool = True,
    version: str | None = None,
    device: str | None = None,
) -> TrainResult:
    """Run the pipeline (or the named ``stages``) on ``root``; returns what each stage did."""
    import dataclasses

    cfg = preset if isinstance(preset, TrainConfig) else load_preset(preset)
    if version:
        layout.teacher_dir(version)  # validates
        cfg = dataclasses.replace(cfg, version=version)
    wanted = list(stages) if stages else list(STAGES)
    bad = [s for s in wanted if s not in STAGES]
    if bad:
        raise ConfigError(f"unknown stage(s) {', '.join(bad)}: use {', '.join(STAGES)}")
    store = open_store(root)
    run = Run(
        store,
        cfg,
        teacher_weights=teacher_weights,
        student_weights=student_weights,
        trace=trace,
        force=force,
        track=track,
        device=device,
    )
    results: list[StageResult] = []
    if "catalog" in wanted:
        if catalog is not None:
            t0 = time.perf_counter()
            rep = build_catalog(catalog, store)
            results.append(
                StageResult(
                    "catalog",
                    "ran",
                    time.perf_counter() - t0,
                    metrics={
                        "cards": rep.cards,
                        "processed": len(rep.processed),
                        "unchanged": len(rep.unchanged),
                    },
                )
            )

            update_lineage(
                store,
                cfg.version,
                "catalog",
                {"content_hash": rep.content_hash, "source": str(catalog), "cards": rep.cards},
            )
        elif not store.exists(layout.PROCESSED_INDEX):
            raise ConfigError(f"{store.url}: no catalogue in this root; pass --catalog DIR")
        else:
            results.append(
                StageResult("catalog", "skipped", note="no --catalog: using the catalogue in the root")
            )
    todo = [s for s in STAGES[1:] if s in wanted]
    run.tracker = open_tracker(
        store,
        track and bool(todo),
        f"{cfg.name}-{cfg.version}",
        {"preset": cfg.name, "version": cfg.version, "device": run.device},
    )
    run.tracker.log_params(
        {
            "preset": cfg.name,
            "device": run.device,
            "stages": ",".join(todo),
            "catalog_cards": len(run.card_ids) if todo else 0,
            **cfg.as_dict(),
        }
    )
    status = "FAILED"
    try:
        for name in todo:
            inputs = run.inputs(name)
            h = sha256_bytes(json.dumps(inputs, sort_keys=True, default=str).encode())
            if run.stamp_ok(name, h):
                results.append(StageResult(name, "skipped", note="inputs unchanged"))
                log.info("%s: skipped (inputs unchanged)", name)
                continue
            res = StageResult(name, "ran")
            t0 = time.perf_counter()
            STAGE_FUNCS[name](run, h, res)
            res.seconds = time.perf_counter() - t0
            if res.status == "ran":
                run.write_stamp(name, h, inputs, res)
                run.tracker.log_metrics({f"{name}.seconds": res.seconds})
            results.append(res)
        status = "FINISHED"
    finally:
        run.tracker.end(status)
    out = TrainResult(store.url, cfg.name, cfg.version, run.device, run.tracker.run_id, results)
    if any(r.status == "ran" for r in results if r.stage != "catalog"):
        record_run_index(
            store,
            run.tracker,
            {
                "preset": cfg.name,
                "version": cfg.version,
                "device": run.device,
                "stages": {r.stage: r.status for r in results},
            },
        )
    return out
