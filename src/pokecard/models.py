"""Embedding networks: one factory (``create_model(name, **kw)``) for teacher, student and
any timm backbone, plus weights loading from a local file.

An :class:`EmbeddingNet` is a timm backbone without classifier, an optional linear head to
``embedding_dim`` and an L2 normalization. It takes float NCHW already normalized with the
model card's mean/std (the ONNX export wraps it with the uint8 -> normalized step).

Names: ``teacher`` (DINOv3 ViT-B/16, CLS token, 768-d, ~86M parameters), ``student``
(EfficientNet-Lite0 + linear head to 768, ~4.36M parameters), ``teacher-tiny`` (DINOv3
ViT-Ti/16 + head to 768, the demo preset's teacher) or any timm model name.

torch and timm are imported inside the functions (this module is imported by the CLI).
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pokecard.errors import MissingDependency, ModelError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelSpec:
    """What to build: a timm architecture, its extra kwargs and the embedding size."""

    architecture: str
    embedding_dim: int = 768
    timm_kwargs: dict[str, Any] = field(default_factory=dict)
    # Whether the architecture takes its input size at construction (ViTs: patch grid).
    needs_img_size: bool = False


# Aliases. A user can pass any timm name instead (``--teacher-arch``/``--student-arch``).
MODELS: dict[str, ModelSpec] = {
    "teacher": ModelSpec("vit_base_patch16_dinov3", 768, {"global_pool": "token"}, needs_img_size=True),
    "teacher-tiny": ModelSpec(
        "vit_tiny_patch16_dinov3_qkvb", 768, {"global_pool": "token"}, needs_img_size=True
    ),
    "student": ModelSpec("efficientnet_lite0", 768, {}),
}


def resolve(name: str, embedding_dim: int | None = None) -> ModelSpec:
    """The spec for an alias or a timm name (ViT-like names get their input size at build)."""
    if name in MODELS:
        spec = MODELS[name]
    else:
        spec = ModelSpec(name, 768, {}, needs_img_size=name.startswith(("vit_", "deit", "eva")))
    if embedding_dim is not None:
        spec = ModelSpec(spec.architecture, int(embedding_dim), dict(spec.timm_kwargs), spec.needs_img_size)
    return spec


def _torch() -> Any:
    try:
        import timm  # noqa: F401
        import torch
    except ImportError as e:  # pragma: no cover - the dev venv has both
        raise MissingDependency(
            f"training needs torch and timm ({e}); install the train extra: pip install -e '.[train]'"
        ) from e
    return torch


def _build_net() -> type:
    torch = _torch()
    nn = torch.nn

    class EmbeddingNet(nn.Module):
        """timm backbone (no classifier) -> optional Linear to D -> L2 normalize."""

        def __init__(self, backbone: Any, embedding_dim: int, architecture: str) -> None:
            super().__init__()
            self.backbone = backbone
            self.architecture = architecture
            self.embedding_dim = embedding_dim
            # head_hidden_size: what forward() returns without a classifier (MobileNetV3 adds a
            # conv head after num_features); older timm models only have num_features.
            feat = int(getattr(backbone, "head_hidden_size", None) or backbone.num_features)
            self.head = nn.Identity() if feat == embedding_dim else nn.Linear(feat, embedding_dim)

        def forward(self, x: Any) -> Any:
            return nn.functional.normalize(self.head(self.backbone(x)), dim=1)

    return EmbeddingNet


_NET_CLS: type | None = None


def embedding_net_class() -> type:
    global _NET_CLS
    if _NET_CLS is None:
        _NET_CLS = _build_net()
    return _NET_CLS


def create_model(
    name: str,
    *,
    embedding_dim: int | None = None,
    input_size: tuple[int, int] | None = None,
    weights: str | os.PathLike[str] | None = None,
    **timm_kwargs: Any,
) -> Any:
    """Build an embedding network by alias or timm name.

    ``weights``: a local .safetensors/.pth of the *backbone* (timm's pretrained format,
    loaded through ``pretrained_cfg_overlay=dict(file=...)``) or a pokecard checkpoint
    (a dict with ``model`` = the whole EmbeddingNet state dict). Without weights the
    backbone is randomly initialized and a warning says so.
    """
    torch = _torch()
    import timm

    spec = resolve(name, embedding_dim)
    kw: dict[str, Any] = {"num_classes": 0, **spec.timm_kwargs, **timm_kwargs}
    if spec.needs_img_size and input_size is not None:
        kw.setdefault("img_size", tuple(int(v) for v in input_size))
    if not timm.is_model(spec.architecture):
        raise ModelError(
            f"unknown architecture {spec.architecture!r}: use teacher, teacher-tiny, student or a timm "
            "model name (see timm.list_models())"
        )
    backbone_file: Path | None = None
    pokecard_ckpt: dict[str, Any] | None = None
    if weights is not None:
        wp = Path(weights)
        if not wp.is_file():
            raise ModelError(f"{wp}: weights file not found")
        pokecard_ckpt = _maybe_pokecard_checkpoint(wp)
        if pokecard_ckpt is None:
            backbone_file = wp
    try:
        if backbone_file is not None:
            backbone = timm.create_model(
                spec.architecture, pretrained=True, pretrained_cfg_overlay={"file": str(backbone_file)}, **kw
            )
        else:
            backbone = timm.create_model(spec.architecture, pretrained=False, **kw)
    except (RuntimeError, ValueError, KeyError, OSError) as e:
        where = f"{backbone_file}: " if backbone_file else ""
        raise ModelError(
            f"{where}cannot build {spec.architecture} with these weights/options "
            f"({str(e).splitlines()[0][:300]})"
        ) from e
    net = embedding_net_class()(backbone, spec.embedding_dim, spec.architecture)
    if pokecard_ckpt is not None:
        try:
            net.load_state_dict(pokecard_ckpt["model"])
        except RuntimeError as e:
            raise ModelError(
                f"{weights}: checkpoint does not fit {spec.architecture} "
                f"with embedding_dim {spec.embedding_dim} ({str(e).splitlines()[0][:300]})"
            ) from e
    elif backbone_file is None:
        log.warning(
            "%s: no weights file given, random initialization: accuracy will be low unless it is "
            "trained long (pass --teacher-weights/--student-weights with a local .safetensors/.pth)",
            spec.architecture,
        )
    del torch
    return net


def _maybe_pokecard_checkpoint(path: Path) -> dict[str, Any] | None:
    """A pokecard checkpoint (dict with a 'model' state dict), or None for a timm weights file."""
    if path.suffix == ".safetensors":
        return None
    torch = _torch()
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for a bad pickle/zip
        raise ModelError(
            f"{path}: not a readable PyTorch weights file ({str(e).splitlines()[0][:200]})"
        ) from e
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict) and "architecture" in obj:
        return obj
    return None


def parameter_count(model: Any) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def state_dict_bytes(model: Any, extra: dict[str, Any] | None = None) -> bytes:
    """A pokecard checkpoint as bytes: {'model': state_dict, 'architecture', ...extra}."""
    torch = _torch()
    buf = io.BytesIO()
    torch.save(
        {
            "model": {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
            "architecture": getattr(model, "architecture", "?"),
            "embedding_dim": getattr(model, "embedding_dim", None),
            **(extra or {}),
        },
        buf,
    )
    return buf.getvalue()


def load_checkpoint_bytes(data: bytes, source: str = "checkpoint") -> dict[str, Any]:
    torch = _torch()
    try:
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as e:
        raise ModelError(f"{source}: not a readable checkpoint ({str(e).splitlines()[0][:200]})") from e
    if not isinstance(obj, dict) or "model" not in obj:
        raise ModelError(f"{source}: not a pokecard checkpoint (no 'model' state dict)")
    return obj


def model_from_checkpoint(ckpt: dict[str, Any], card: Any) -> Any:
    """Rebuild an EmbeddingNet from a checkpoint and its model card (eval mode)."""
    import contextlib

    # The checkpoint carries the weights: no need to warn about random init here.
    with _quiet():
        net = create_model(
            card.architecture,
            embedding_dim=card.embedding_dim,
            input_size=tuple(card.input_size),
            **card.extra.get("timm_kwargs", {}),
        )
    try:
        net.load_state_dict(ckpt["model"])
    except RuntimeError as e:
        raise ModelError(
            f"checkpoint does not match its model card ({card.architecture}, {card.embedding_dim}-d): "
            f"{str(e).splitlines()[0][:300]}"
        ) from e
    with contextlib.suppress(AttributeError):
        net.eval()
    return net


class _quiet:
    def __enter__(self) -> None:
        self._level = log.level
        log.setLevel(logging.ERROR)

    def __exit__(self, *exc: object) -> None:
        log.setLevel(self._level)
