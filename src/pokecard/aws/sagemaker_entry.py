"""What runs inside a SageMaker training job (``scripts/sagemaker_train.py`` calls :func:`main`).

The pipeline trains on a local root under /opt/ml/checkpoints, which SageMaker syncs to the
layout's checkpoint prefix and restores after a spot interruption, so the pipeline's own
resume (last_epoch.pt, stage stamps) picks up where the job stopped. At the end the models,
reference DB and run records are pushed to the project root in S3 (``POKECARD_S3_ROOT``).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from pokecard import layout
from pokecard.aws.sagemaker import CHECKPOINT_LOCAL, STAGE_PLAN
from pokecard.store import open_store
from pokecard.train import train

# Prefixes the job produces, pushed to S3 when training ends.
RESULTS = (layout.TEACHER_DIR, layout.STUDENT_DIR, layout.REFERENCE, "pipelines/training", layout.METRICS_DIR)


def plan(argv: list[str] | None = None, environ: dict[str, str] | None = None) -> dict[str, object]:
    """Parse the job's arguments and environment into what :func:`main` does (tested without a job)."""
    env = dict(os.environ if environ is None else environ)
    ap = argparse.ArgumentParser(prog="sagemaker_train.py")
    ap.add_argument("--stage", choices=sorted(STAGE_PLAN), required=True)
    ap.add_argument("--preset", default="full")
    ap.add_argument("--version", default="v1")
    a = ap.parse_args(argv)
    if not env.get("POKECARD_S3_ROOT"):
        raise SystemExit("POKECARD_S3_ROOT is not set: the job does not know where to push its results")
    return {
        "stages": STAGE_PLAN[a.stage],
        "preset": a.preset,
        "version": a.version,
        "local_root": str(Path(env.get("SM_CHECKPOINT_DIR", CHECKPOINT_LOCAL)) / "root"),
        "catalog": env.get("SM_CHANNEL_CATALOG", "/opt/ml/input/data/catalog"),
        "teacher": env.get("SM_CHANNEL_TEACHER"),
        "s3_root": env["POKECARD_S3_ROOT"],
    }


def main(argv: list[str] | None = None) -> int:
    p = plan(argv)
    local = open_store(p["local_root"])
    if p["teacher"] and not local.exists(layout.model_card(layout.teacher_dir(str(p["version"])))):
        local.push(str(p["teacher"]), layout.TEACHER_DIR)  # distillation starts from the trained teacher
    train(
        str(p["local_root"]),
        catalog=str(p["catalog"]),
        preset=str(p["preset"]),
        stages=list(p["stages"]),  # type: ignore[call-overload]
        version=str(p["version"]),
        track=False,
    )
    remote = open_store(str(p["s3_root"]))
    for prefix in RESULTS:
        folder = Path(str(p["local_root"])) / prefix
        if folder.is_dir():
            remote.push(folder, prefix)
    return 0
