"""Training: teacher metric learning, teacher gallery, student distillation, evaluation,
ONNX export and the reference DB, as resumable stages (``pokecard train``).

Heavy imports (torch, timm, mlflow) happen inside the stage functions.
"""

from __future__ import annotations

from pokecard.train.config import PRESETS, TrainConfig, load_preset

__all__ = ["PRESETS", "STAGES", "TrainConfig", "load_preset", "train"]

STAGES = ("catalog", "teacher", "gallery", "student", "evaluate", "export", "reference")


def train(*args, **kwargs):  # noqa: ANN002, ANN003, ANN201 - re-export without importing torch
    from pokecard.train.pipeline import train as _train

    return _train(*args, **kwargs)
