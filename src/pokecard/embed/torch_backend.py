"""PyTorch backend of the embedder contract (``create_embedder(path, backend="torch")``).

Loads a pokecard checkpoint (.pt) with its model card and runs exactly the graph the ONNX
export contains (uint8 NHWC -> card normalization -> network -> L2 norm), so the two
backends agree to float precision.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pokecard.embed.base import ModelEmbedder
from pokecard.errors import MissingDependency, ModelError
from pokecard.modelcard import ModelCard
from pokecard.models import load_checkpoint_bytes, model_from_checkpoint
from pokecard.preprocess import uint8_wrapper


class TorchEmbedder(ModelEmbedder):
    backend = "torch"

    def __init__(
        self, card: ModelCard, model_path: Path, threads: int | None = None, device: str = "cpu"
    ) -> None:
        super().__init__(card, model_path)
        try:
            import torch
        except ImportError as e:
            raise MissingDependency(f"the torch backend needs torch ({e}); use the ONNX model instead") from e

        if threads:
            torch.set_num_threads(threads)
        ckpt = load_checkpoint_bytes(Path(model_path).read_bytes(), str(model_path))
        if ckpt.get("architecture") not in (None, "?", card.architecture):
            raise ModelError(
                f"{model_path}: checkpoint is a {ckpt.get('architecture')}, its model card says {card.architecture}"
            )
        self.device = device
        self.module = uint8_wrapper(model_from_checkpoint(ckpt, card), card.mean, card.std).to(device)

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            x = torch.from_numpy(np.ascontiguousarray(batch)).to(self.device)
            return self.module(x).float().cpu().numpy()
