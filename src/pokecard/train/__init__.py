"""Training: teacher metric learning, teacher gallery, student distillation, evaluation,
ONNX export and the reference DB, as resumable stages (``pokecard train``).

Heavy imports (torch, timm, mlflow) happen inside the stage functions.
"""

from __future__ import annotations

from pokecard.train.config import PRESETS, STAGES, TrainConfig, load_preset
from pokecard.train.pipeline import train

__all__ = ["PRESETS", "STAGES", "TrainConfig", "load_preset", "train"]
