"""Embedders: uint8 RGB images [N,H,W,3] -> float32 [N,D] L2-normalized, one contract for
every backend (onnxruntime, torch, hailort). ``create_embedder`` is the one factory.

Images of any size are resized to the model card's ``input_size`` here (the canonical card
crop is 352 x 252); normalization happens inside the model.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from pokecard.errors import ModelError
from pokecard.modelcard import ModelCard, card_path_for

_CV2_INTERP = {"area": 3, "bilinear": 1, "bicubic": 2}  # cv2.INTER_AREA / INTER_LINEAR / INTER_CUBIC


def resize_batch(images: np.ndarray | list[np.ndarray], card: ModelCard) -> np.ndarray:
    """Resize uint8 RGB images to the card's (H, W) with the card's interpolation."""
    import cv2

    h, w = card.input_size
    out = np.empty((len(images), h, w, 3), dtype=np.uint8)
    for i, im in enumerate(images):
        im = np.asarray(im)
        if im.dtype != np.uint8 or im.ndim != 3 or im.shape[2] != 3:
            raise ModelError(f"image {i}: expected uint8 [H,W,3] RGB, got {im.dtype} {im.shape}")
        if im.shape[:2] == (h, w):
            out[i] = im
        else:
            interp = _CV2_INTERP[card.interpolation]
            if card.interpolation == "area" and (im.shape[0] < h or im.shape[1] < w):
                interp = _CV2_INTERP["bilinear"]  # INTER_AREA is for shrinking
            out[i] = cv2.resize(im, (w, h), interpolation=interp)
    return out


def l2_normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(n, 1e-12)


class Embedder(ABC):
    """Base class: subclasses implement ``_forward`` on uint8 [N,h,w,3] at the card's size."""

    backend: str = "?"

    def __init__(self, card: ModelCard, model_path: Path) -> None:
        self.card = card
        self.model_path = model_path

    @property
    def dim(self) -> int:
        return self.card.embedding_dim

    @abstractmethod
    def _forward(self, batch: np.ndarray) -> np.ndarray: ...

    def embed(self, images: np.ndarray | list[np.ndarray], batch_size: int = 32) -> np.ndarray:
        if len(images) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        x = resize_batch(images, self.card)
        outs = [self._forward(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
        emb = l2_normalize(np.concatenate(outs, axis=0))
        if emb.shape[1] != self.dim:
            raise ModelError(
                f"{self.model_path}: model gives {emb.shape[1]}-d vectors, its card says {self.dim}"
            )
        return emb


def session_level(card: ModelCard):  # noqa: ANN201 - onnxruntime's enum
    """onnxruntime graph optimizations for this model: all of them for float32 (level ALL's
    NCHWc convolutions: GPU student 10.4 ms per crop on one thread, 27.3 at EXTENDED); the
    extended level for a quantized (QDQ) model, where ALL's layout pass only moves the
    QLinearConvs channels-last (com.microsoft) and is no faster: int8 7.96 ms at EXTENDED vs
    8.06 at ALL, and 10.9 vs 12.3 ms for an int8 model whose input normalization was
    quantized too (interleaved runs, 2026-11-27; docs/recognizer.md)."""
    import onnxruntime as ort

    if card.extra.get("quantization"):
        return ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    return ort.GraphOptimizationLevel.ORT_ENABLE_ALL


class OnnxEmbedder(Embedder):
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
) -> Embedder:
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
        from pokecard.embed.torch_backend import TorchEmbedder

        return TorchEmbedder(card, p, threads=threads)
    if backend == "hailort":
        from pokecard.embed.hailo_backend import HailoEmbedder

        return HailoEmbedder(card, p)
    raise ModelError(f"unknown embedder backend {backend!r}: use onnxruntime, torch or hailort")
