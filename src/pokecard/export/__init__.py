"""Model export: ONNX (``pokecard.export.onnx``) and, later, Hailo HEF.

HAILO: the HEF compiler belongs in ``pokecard.export.hailo`` (``export_hef(onnx_path, card,
calibration_dir, out)``). It reads the same model card (input size, mean/std: the ONNX
graph already normalizes, so calibration images are raw uint8 crops) and writes
``layout.hailo_hef(version)`` with the card beside it. Not written yet: the Hailo Dataflow
Compiler is not installable here.
"""

from __future__ import annotations

from pokecard.export.onnx import OPSET, PARITY_MIN_COSINE, ExportReport, export_onnx

__all__ = ["OPSET", "PARITY_MIN_COSINE", "ExportReport", "export_onnx"]
