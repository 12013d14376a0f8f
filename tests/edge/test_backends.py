"""--backend names: auto picks Hailo only when HailoRT imports and a device answers."""

from __future__ import annotations

import sys
import types

import pytest

from pokecard.edge.backends import recognizer_backend, resolve_backend
from pokecard.errors import ModelError


def _hailo(devices: list[str] | Exception) -> types.SimpleNamespace:
    def scan() -> list[str]:
        if isinstance(devices, Exception):
            raise devices
        return devices

    return types.SimpleNamespace(Device=types.SimpleNamespace(scan=staticmethod(scan)))


def test_auto_and_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "hailo_platform", None)
    assert resolve_backend("auto") == "onnxruntime"
    monkeypatch.setitem(sys.modules, "hailo_platform", _hailo([]))
    assert resolve_backend("auto") == "onnxruntime"  # HailoRT installed, no chip
    monkeypatch.setitem(sys.modules, "hailo_platform", _hailo(RuntimeError("HAILO_DRIVER_NOT_INSTALLED")))
    assert resolve_backend("auto") == "onnxruntime"
    monkeypatch.setitem(sys.modules, "hailo_platform", _hailo(["0000:01:00.0"]))
    assert resolve_backend("auto") == "hailort"
    assert [resolve_backend(n) for n in ("onnx", "torch", "hailo")] == ["onnxruntime", "torch", "hailort"]
    assert recognizer_backend("auto") == "auto" and recognizer_backend("onnx") == "onnxruntime"
    with pytest.raises(ModelError, match="unknown backend 'tpu': use one of auto, onnx, torch, hailo"):
        resolve_backend("tpu")
