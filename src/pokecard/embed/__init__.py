"""Embedders: uint8 RGB images [N,H,W,3] -> float32 [N,D] L2-normalized, one contract for
every backend (onnxruntime, torch, hailort). ``create_embedder`` is the one factory.

Images of any size are resized to the model card's ``input_size`` (pokecard.preprocess);
normalization happens inside the model. A new backend: a ModelEmbedder subclass in its own
module here, and one branch in ``create_embedder``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from pokecard.embed.base import Embedder, ModelEmbedder
from pokecard.embed.hailo_backend import HailoEmbedder
from pokecard.embed.torch_backend import TorchEmbedder
from pokecard.errors import ModelError
from pokecard.modelcard import ModelCard, card_path_for

__all__ = ["Embedder", "ModelEmbedder", "OnnxEmbedder", "create_embedder"]


def session_level(card: ModelCard):  # noqa: ANN201 - onnxruntime's enum
    """onnxruntime graph optimizations for this model: all of them for float32 (its NCHWc
    convolutions), the extended level for a quantized (QDQ) model, where ALL's layout pass is
    no faster (measurements: docs/recognizer.md, "int8 student, decoding and the 30 ms target")."""
    import onnxruntime as ort

    if card.extra.get("quantization"):
        return ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    return ort.GraphOptimizationLevel.ORT_ENABLE_ALL


class OnnxEmbedder(ModelEmbedder):
    backend = "onnxruntime"

    def __init__(self, card: ModelCard, model_path: Path, threads: int | None = None) -> None:
        super().__init__(card, model_path)
        import onnxruntime as ort

        so = ort.SessionOptions()
        if threads:
            so.intra_op_num_threads = threads
            so.inter_op_num_threads = 1
        so.graph_optimization_level = session_level(card)
        try:
            self.session = ort.InferenceSession(str(model_path), so, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own untyped errors
            raise ModelError(f"{model_path}: ONNX Runtime cannot load this model ({e})") from e
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        if "uint8" not in inp.type:
            raise ModelError(
                f"{model_path}: input {inp.name!r} is {inp.type}; pokecard models take uint8 NHWC RGB"
            )

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: batch})[0]


def create_embedder(
    model_path: str | os.PathLike[str],
    backend: str = "auto",
    threads: int | None = None,
    card: ModelCard | None = None,
) -> ModelEmbedder:
    """One factory for every backend. ``auto`` picks by file type (.onnx, .hef, .pt)."""
    p = Path(model_path)
    if not p.is_file():
        raise ModelError(f"{p}: model file not found")
    card = card or ModelCard.load(card_path_for(p))
    if backend == "auto":
        backend = {".onnx": "onnxruntime", ".hef": "hailort", ".pt": "torch", ".pth": "torch"}.get(
            p.suffix, ""
        )
        if not backend:
            raise ModelError(f"{p}: cannot tell the backend from the suffix {p.suffix!r}; pass backend=")
    if backend == "onnxruntime":
        return OnnxEmbedder(card, p, threads=threads)
    if backend == "torch":
        return TorchEmbedder(card, p, threads=threads)
    if backend == "hailort":
        return HailoEmbedder(card, p)
    raise ModelError(f"unknown embedder backend {backend!r}: use onnxruntime, torch or hailort")
