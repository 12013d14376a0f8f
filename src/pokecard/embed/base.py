"""The embedder contract (docs/architecture.md, "Contracts") and the base of the model-backed backends.

``Embedder`` is what the reference DB and the recognizer need of any embedder (a model
backend, or the training-free :class:`~pokecard.features.LayoutDescriptor`); ``ModelEmbedder``
is the base of the backends that run a model with its card (resize here, the rest in the model).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from pokecard.errors import ModelError
from pokecard.modelcard import ModelCard
from pokecard.preprocess import l2_normalize, resize_batch


@runtime_checkable
class Embedder(Protocol):
    """uint8 RGB images [N,H,W,3] -> float32 [N,D] L2-normalized, plus who made the vectors."""

    @property
    def dim(self) -> int: ...

    def embed(self, images: np.ndarray | list[np.ndarray], batch_size: int = 32) -> np.ndarray: ...

    def identity(self) -> dict[str, Any]: ...


class ModelEmbedder(ABC):
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

    def identity(self) -> dict[str, Any]:
        return self.card.identity()
