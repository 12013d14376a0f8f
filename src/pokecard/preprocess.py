"""The one preprocessing contract between a model card and a model's input.

Every path that feeds a model goes through here: the embedders (any backend), the ONNX
export's uint8 wrapper, training and the calibration sets. A model takes uint8 NHWC RGB at
its card's ``input_size``; :func:`resize_batch` makes that from any crop with the card's
interpolation, and :func:`normalize` (inside the exported graph, and in training) maps
0..255 to the card's mean/std.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from pokecard.errors import ModelError
from pokecard.modelcard import ModelCard

CV2_INTERP = {"area": cv2.INTER_AREA, "bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC}


def resize_batch(images: np.ndarray | list[np.ndarray], card: ModelCard) -> np.ndarray:
    """Resize uint8 RGB images to the card's (H, W) with the card's interpolation."""
    h, w = card.input_size
    out = np.empty((len(images), h, w, 3), dtype=np.uint8)
    for i, im in enumerate(images):
        im = np.asarray(im)
        if im.dtype != np.uint8 or im.ndim != 3 or im.shape[2] != 3:
            raise ModelError(f"image {i}: expected uint8 [H,W,3] RGB, got {im.dtype} {im.shape}")
        if im.shape[:2] == (h, w):
            out[i] = im
        else:
            interp = CV2_INTERP[card.interpolation]
            if card.interpolation == "area" and (im.shape[0] < h or im.shape[1] < w):
                interp = CV2_INTERP["bilinear"]  # INTER_AREA is for shrinking
            out[i] = cv2.resize(im, (w, h), interpolation=interp)
    return out


def l2_normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(n, 1e-12)


def scale_shift(mean: tuple[float, ...], std: tuple[float, ...], device: Any = None) -> tuple[Any, Any]:
    """mean/std folded into one scale and shift: (x/255 - m)/s = x * (1/(255 s)) - m/s."""
    import torch

    m = torch.tensor(mean, dtype=torch.float32, device=device).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32, device=device).view(1, 3, 1, 1)
    return 1.0 / (255.0 * s), m / s


def apply_scale_shift(images_nhwc: Any, scale: Any, shift: Any) -> Any:
    """uint8 NHWC tensor -> normalized float NCHW (the first ops of every exported graph)."""
    import torch

    return images_nhwc.permute(0, 3, 1, 2).to(torch.float32) * scale - shift


def normalize(images_nhwc: Any, mean: tuple[float, ...], std: tuple[float, ...]) -> Any:
    """uint8 NHWC tensor -> float NCHW normalized with the card's mean/std, exactly as the
    exported graph does it (training feeds the network the same numbers as the device)."""
    return apply_scale_shift(images_nhwc, *scale_shift(mean, std, images_nhwc.device))


def uint8_wrapper(net: Any, mean: tuple[float, ...], std: tuple[float, ...]) -> Any:
    """nn.Module: uint8 NHWC RGB -> normalized float NCHW -> net -> L2-normalized embeddings
    (the graph every exported model contains, and the torch backend runs)."""
    import torch

    class Uint8Embedder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net
            scale, shift = scale_shift(mean, std)
            self.register_buffer("scale", scale)
            self.register_buffer("shift", shift)

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            x = apply_scale_shift(images, self.scale, self.shift)
            return torch.nn.functional.normalize(self.net(x), dim=1)

    return Uint8Embedder().eval()
