"""Model export: ONNX and int8 ONNX (``export.onnx``), the Hailo HEF hook (``export.hailo``),
and the crops both quantizers calibrate on (``export.calibration``: the device's own
detection, rectification and resize of simulated photos)."""

from __future__ import annotations

from pokecard.export.onnx import OPSET, PARITY_MIN_COSINE, ExportReport, export_onnx

__all__ = ["OPSET", "PARITY_MIN_COSINE", "ExportReport", "export_onnx"]
