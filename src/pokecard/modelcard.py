"""The model card: the one owner of an embedding model's preprocessing contract.

A JSON file (``model_card.json``) sits beside every checkpoint, ONNX and HEF. Every reader
(torch and ONNX Runtime embedders, Hailo calibration, the device) takes input size,
mean/std, interpolation and embedding dim from it, never from its own constants.

Input contract of exported models (ONNX, HEF): ``images`` uint8 [N, H, W, 3] RGB at the
card's ``input_size``; normalization is inside the graph. Output ``embeddings`` float32
[N, D], L2-normalized.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from pokecard import __version__, atomic
from pokecard.errors import ModelError

INTERPOLATIONS = ("area", "bilinear", "bicubic")


@dataclass
class ModelCard:
    name: str  # e.g. "student", "teacher"
    architecture: str  # timm model name, e.g. "efficientnet_lite0"
    embedding_dim: int
    input_size: tuple[int, int]  # (H, W) fed to the network
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    interpolation: str = "area"
    input_format: str = "uint8_nhwc_rgb"
    parameters: int = 0
    weights_sha256: str | None = None
    onnx_sha256: str | None = None
    hef_sha256: str | None = None
    run_id: str | None = None
    preset: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    created: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    code_version: str = __version__

    def __post_init__(self) -> None:
        self.input_size = tuple(int(v) for v in self.input_size)  # type: ignore[assignment]
        self.mean = tuple(float(v) for v in self.mean)  # type: ignore[assignment]
        self.std = tuple(float(v) for v in self.std)  # type: ignore[assignment]
        problems = []
        if len(self.input_size) != 2 or min(self.input_size) < 16:
            problems.append(f"input_size {self.input_size} must be (H, W) with both >= 16")
        if self.embedding_dim <= 0:
            problems.append(f"embedding_dim {self.embedding_dim} must be positive")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            problems.append("mean and std must have 3 values, std > 0")
        if self.interpolation not in INTERPOLATIONS:
            problems.append(f"interpolation {self.interpolation!r} is not one of {INTERPOLATIONS}")
        if problems:
            raise ModelError(f"invalid model card for {self.name!r}: " + "; ".join(problems))

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["input_size"] = list(self.input_size)
        d["mean"] = list(self.mean)
        d["std"] = list(self.std)
        return d

    def identity(self) -> dict[str, Any]:
        """What must match between the model that built a reference DB and the one running now."""
        return {
            "architecture": self.architecture,
            "embedding_dim": self.embedding_dim,
            "input_size": list(self.input_size),
            "weights_sha256": self.weights_sha256,
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        atomic.write_json(path, self.as_dict())

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "model card") -> ModelCard:
        known = {f.name for f in fields(cls)}
        missing = [k for k in ("name", "architecture", "embedding_dim", "input_size") if k not in d]
        if missing:
            raise ModelError(f"{source}: missing field(s) {', '.join(missing)}")
        try:
            return cls(**{k: v for k, v in d.items() if k in known})
        except (TypeError, ValueError) as e:
            raise ModelError(f"{source}: {e}") from e

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ModelCard:
        p = Path(path)
        if not p.is_file():
            raise ModelError(f"{p}: no model card here; every model needs a model_card.json beside it")
        try:
            d = json.loads(p.read_text())
        except json.JSONDecodeError as e:
            raise ModelError(f"{p}: model card is not valid JSON ({e})") from e
        return cls.from_dict(d, str(p))


def card_path_for(model_path: str | os.PathLike[str]) -> Path:
    """The model card that belongs to a model file: ``model_card.json`` in the same folder."""
    return Path(model_path).with_name("model_card.json")
