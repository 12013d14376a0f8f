"""Training presets as data: ``demo`` (2 CPU cores, minutes) and ``full`` (a GPU).

A preset is a :class:`TrainConfig`; ``--preset`` takes a name or a JSON file whose keys
override a base preset (``{"base": "demo", "student": {"epochs": 2}, ...}``), which is how
the tests run tiny configurations through the real code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pokecard.errors import ConfigError

# The resumable stages of `pokecard train`, in order.
STAGES = ("catalog", "teacher", "gallery", "student", "evaluate", "export", "reference")


@dataclass(frozen=True)
class StageConfig:
    """One trained network: which model, at which input size, for how long."""

    model: str  # alias (teacher, teacher-tiny, student) or timm name
    input_size: tuple[int, int]  # (H, W), card-shaped
    embedding_dim: int = 768
    epochs: int = 10
    steps_per_epoch: int = 20
    batch_size: int = 48
    lr: float = 2e-3
    weight_decay: float = 0.05
    warmup_frac: float = 0.05
    max_minutes: float = 0.0  # time budget for this stage (0 = none); the LR schedule follows it
    timm_kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LossConfig:
    # teacher: normalized softmax with an additive (CosFace) margin over card ids
    scale: float = 20.0
    margin: float = 0.15
    # student: asymmetric distillation towards the cached teacher gallery
    cosine_weight: float = 1.0
    relational_weight: float = 1.0
    # relational target between two different cards at most this (1.0 = the teacher's as is)
    relational_cap: float = 1.0
    gallery_ce_weight: float = 1.0  # softmax over the whole cached gallery (cheap: no teacher pass)
    gallery_temperature: float = 0.05
    # student: its own CosFace over card ids (scale/margin above); separates cards that the
    # teacher's gallery puts on top of each other (0 = pure distillation)
    student_id_weight: float = 0.0


@dataclass(frozen=True)
class DataConfig:
    views_per_card: int = 32  # simulated crops per card in the training pool
    eval_photos_per_card: int = 5  # held-out photos per card (eval seeds)
    photo_config: str = "train"  # PhotoConfig preset for the training pool
    eval_photo_config: str = "eval"
    refresh_every: int = 0  # swap in a fresh pool (made while training runs) every N epochs (0 = never)
    workers: int = 2  # processes that simulate the pool (off the training thread); 0 = one per core
    tensor_aug: bool = True  # cheap per-step jitter on the pooled crops (shift/scale, light)
    # share of each batch drawn from the cards with the highest running error (0 = uniform)
    hard_class_frac: float = 0.0


@dataclass(frozen=True)
class TrainConfig:
    name: str
    teacher: StageConfig
    student: StageConfig
    loss: LossConfig = field(default_factory=LossConfig)
    data: DataConfig = field(default_factory=DataConfig)
    seed: int = 0
    channels_last: bool = True
    amp: bool = True  # on CUDA: forward in bf16 autocast (the loss stays float32); ignored on CPU
    threads: int = 0  # torch intra-op threads (0 = auto: each CPU stage times 1 vs all cores)
    version: str = "v1"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def digest(self, *parts: str) -> str:
        """sha256 of selected top-level sections (what a stage's output depends on)."""
        d = self.as_dict()
        sel = {k: d[k] for k in parts} if parts else d
        return hashlib.sha256(json.dumps(sel, sort_keys=True, default=str).encode()).hexdigest()


# demo: a tiny DINOv3 teacher and a MobileNetV4-conv-small student at 96 x 64 px, from random
# init, inside a 10-minute training budget on 2 cores; why each choice (the student is not
# Lite0, the relational cap, the rates) is in docs/training.md, "Demo preset: the choices".
DEMO = TrainConfig(
    name="demo",
    teacher=StageConfig(
        model="teacher-tiny",
        input_size=(96, 64),
        epochs=3,
        steps_per_epoch=20,
        batch_size=48,
        lr=1e-3,
        max_minutes=1.5,
    ),
    student=StageConfig(
        model="mobilenetv4_conv_small",
        input_size=(96, 64),
        epochs=50,
        steps_per_epoch=40,  # a checkpoint per epoch costs ~0.4 s here: 40 steps halve that
        batch_size=48,
        lr=6e-3,
        max_minutes=7.8,
    ),
    loss=LossConfig(student_id_weight=1.0, relational_cap=0.9),
    data=DataConfig(views_per_card=32, eval_photos_per_card=10, hard_class_frac=0.5),
)

# full: the real sizes, for a GPU (or SageMaker): DINOv3 ViT-B/16 (86M) teacher and the
# Lite0 student at 224 x 160 px (14 x 10 patches), bf16 forward on CUDA, a fresh photo pool
# swapped in every 5 epochs (made by one worker per core while training runs). The learning
# rates assume pretrained weights (--teacher-weights); from random init see
# scripts/gpu/full-random-init.json, measured on an H200 in docs/benchmarks.md.
FULL = TrainConfig(
    name="full",
    teacher=StageConfig(
        model="teacher",
        input_size=(224, 160),
        epochs=30,
        steps_per_epoch=200,
        batch_size=64,
        lr=5e-5,
        warmup_frac=0.05,
    ),
    student=StageConfig(
        model="student", input_size=(224, 160), epochs=40, steps_per_epoch=200, batch_size=128, lr=2e-3
    ),
    data=DataConfig(views_per_card=64, eval_photos_per_card=10, refresh_every=5, workers=0),
)

PRESETS = {"demo": DEMO, "full": FULL}


def _merge(base: Any, over: dict[str, Any], where: str) -> Any:
    if not dataclasses.is_dataclass(base):
        return over
    known = {f.name: f for f in dataclasses.fields(base)}
    changes: dict[str, Any] = {}
    for k, v in over.items():
        if k not in known:
            raise ConfigError(f"{where}: unknown key {k!r}; known: {', '.join(sorted(known))}")
        cur = getattr(base, k)
        if dataclasses.is_dataclass(cur):
            if not isinstance(v, dict):
                raise ConfigError(f"{where}: {k} must be an object")
            changes[k] = _merge(cur, v, f"{where}.{k}")
        elif isinstance(cur, tuple):
            changes[k] = tuple(v)
        else:
            changes[k] = v
    return dataclasses.replace(base, **changes)


def load_preset(name_or_file: str, **overrides: Any) -> TrainConfig:
    """A preset by name, or a JSON file ``{"base": "demo", ...overrides}``."""
    if name_or_file in PRESETS:
        cfg = PRESETS[name_or_file]
    else:
        p = Path(name_or_file)
        if not p.is_file():
            raise ConfigError(
                f"preset {name_or_file!r} is neither a known preset ({', '.join(PRESETS)}) nor a JSON file"
            )
        try:
            doc = json.loads(p.read_text())
        except json.JSONDecodeError as e:
            raise ConfigError(f"{p}: not valid JSON ({e})") from e
        if not isinstance(doc, dict):
            raise ConfigError(f"{p}: a preset file is a JSON object")
        base = doc.pop("base", "demo")
        if base not in PRESETS:
            raise ConfigError(f"{p}: base {base!r} is not one of {', '.join(PRESETS)}")
        cfg = _merge(PRESETS[base], doc, str(p))
        if "name" not in doc:
            cfg = dataclasses.replace(cfg, name=f"{base}+{p.stem}")
    cfg = _merge(cfg, {k: v for k, v in overrides.items() if v is not None}, "override")
    for st, sc in (("teacher", cfg.teacher), ("student", cfg.student)):
        if sc.epochs < 1 or sc.steps_per_epoch < 1 or sc.batch_size < 2:
            raise ConfigError(
                f"preset {cfg.name}: {st} needs epochs >= 1, steps_per_epoch >= 1, batch_size >= 2"
            )
        if min(sc.input_size) < 16:
            raise ConfigError(f"preset {cfg.name}: {st} input_size {sc.input_size} is too small (>= 16 px)")
    d, lc = cfg.data, cfg.loss
    if not 0.0 <= d.hard_class_frac <= 1.0:
        raise ConfigError(f"preset {cfg.name}: data.hard_class_frac {d.hard_class_frac} must be in [0, 1]")
    if d.workers < 0 or d.refresh_every < 0 or lc.student_id_weight < 0:
        raise ConfigError(
            f"preset {cfg.name}: data.workers, data.refresh_every and loss.student_id_weight must be >= 0"
        )
    if not -1.0 < lc.relational_cap <= 1.0:
        raise ConfigError(f"preset {cfg.name}: loss.relational_cap {lc.relational_cap} must be in (-1, 1]")
    if cfg.teacher.embedding_dim != cfg.student.embedding_dim:
        raise ConfigError(
            f"preset {cfg.name}: teacher and student embedding_dim differ "
            f"({cfg.teacher.embedding_dim} vs {cfg.student.embedding_dim}); distillation needs one space"
        )
    return cfg
