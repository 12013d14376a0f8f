"""Backend names users type (auto | onnx | torch | hailo) -> the embedder factory's names.

``auto`` picks Hailo when HailoRT's Python API is importable *and* a Hailo device answers a
scan, else ONNX Runtime (the factory's own ``auto`` only looks at the file suffix).
"""

from __future__ import annotations

import logging

from pokecard.errors import ModelError

log = logging.getLogger(__name__)

NAMES = {
    "onnx": "onnxruntime",
    "onnxruntime": "onnxruntime",
    "torch": "torch",
    "hailo": "hailort",
    "hailort": "hailort",
}
CHOICES = ("auto", "onnx", "torch", "hailo")


def hailo_device_present() -> bool:
    """True when hailo_platform imports and its device scan finds at least one chip."""
    try:
        import hailo_platform as hp
    except ImportError:
        return False
    try:
        return bool(hp.Device.scan())
    except Exception as e:  # HailoRT raises its own status errors when the driver is absent
        log.info("hailo_platform is installed but no device answered (%s)", e)
        return False


def resolve_backend(name: str) -> str:
    """The embedder factory's backend for a user-facing name (``auto`` decided here)."""
    if name == "auto":
        return "hailort" if hailo_device_present() else "onnxruntime"
    if name not in NAMES:
        raise ModelError(f"unknown backend {name!r}: use one of {', '.join(CHOICES)}")
    return NAMES[name]


def recognizer_backend(name: str) -> str:
    """What to hand to ``Recognizer(backend=...)``: it loads the reference DB's model file, so
    Hailo needs that model to be the HEF; ``auto`` keeps the factory's choice by file type."""
    return "auto" if name == "auto" else resolve_backend(name)
