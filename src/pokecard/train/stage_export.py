"""Stage export: the student as ONNX (parity-checked), with its latency."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

import numpy as np

from pokecard import layout
from pokecard.errors import ModelError
from pokecard.export.onnx import export_onnx
from pokecard.modelcard import ModelCard
from pokecard.train.run import Run, StageResult, today
from pokecard.train.stage_evaluate import cpu_latency_ms
from pokecard.train.tracking import append_csv, update_lineage

log = logging.getLogger(__name__)


def _onnx_latency_ms(path: Path, card: ModelCard, repeats: int = 20) -> float:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.zeros((1, *card.input_size, 3), dtype=np.uint8)
    for _ in range(3):
        sess.run(None, {"images": x})
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        sess.run(None, {"images": x})
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts) * 1000)


def stage_export(run: Run, h: str, res: StageResult) -> None:
    v = run.v
    student, scard = run.load_net(layout.student_checkpoint(v), layout.student_dir(v))
    student = student.to("cpu")
    key = layout.student_onnx(v)
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / layout.STUDENT_ONNX
        rep = export_onnx(student, scard, out, sample_images=np.stack(run.cards[:32]) if run.cards else None)
        sha = run.store.put_file(key, out)
        scard.onnx_sha256 = sha
        scard.extra = {
            **scard.extra,
            "onnx": {
                "opset": rep.opset,
                "parity_min_cosine": rep.parity_min_cosine,
                "parity_images": rep.parity_images,
                "slimmed": rep.slimmed,
            },
        }
        run.store.put_json(layout.model_card(layout.student_dir(v)), scard.as_dict())
        onnx_ms = _onnx_latency_ms(out, scard)
        # Compression: teacher vs student, as on disk and on this CPU.
        rows = []
        try:
            teacher, tcard = run.load_net(layout.teacher_checkpoint(v), layout.teacher_dir(v))
            t_size = len(run.store.get_bytes(layout.teacher_checkpoint(v)))
            rows.append(
                {
                    "date": today(),
                    "version": v,
                    "preset": run.cfg.name,
                    "model": "teacher",
                    "architecture": tcard.architecture,
                    "parameters": tcard.parameters,
                    "format": "pt",
                    "size_bytes": t_size,
                    "input_size": "x".join(map(str, tcard.input_size)),
                    "cpu_latency_ms": round(cpu_latency_ms(teacher, tcard), 2),
                }
            )
        except ModelError:
            t_size = None
        s_size = len(run.store.get_bytes(layout.student_checkpoint(v)))
        s_ms = cpu_latency_ms(student, scard)
        for fmt, size, ms in (("pt", s_size, s_ms), ("onnx", rep.size_bytes, onnx_ms)):
            rows.append(
                {
                    "date": today(),
                    "version": v,
                    "preset": run.cfg.name,
                    "model": "student",
                    "architecture": scard.architecture,
                    "parameters": scard.parameters,
                    "format": fmt,
                    "size_bytes": size,
                    "input_size": "x".join(map(str, scard.input_size)),
                    "cpu_latency_ms": round(ms, 2),
                    "compression_vs_teacher": round(t_size / size, 2) if t_size else "",
                }
            )
        append_csv(run.store, layout.COMPRESSION_METRICS, rows)
        run.tracker.log_artifact(out, "onnx")
        card_tmp = Path(d) / layout.MODEL_CARD
        scard.save(card_tmp)
        run.tracker.log_artifact(card_tmp, "onnx")
    res.outputs = {key: sha}
    res.metrics = {
        "parity_min_cosine": rep.parity_min_cosine,
        "onnx_bytes": rep.size_bytes,
        "slimmed": rep.slimmed,
        "onnx_cpu_latency_ms": round(onnx_ms, 2),
    }
    run.tracker.log_metrics(
        {"export.parity_min_cosine": rep.parity_min_cosine, "export.onnx_cpu_latency_ms": onnx_ms}
    )
    update_lineage(
        run.store, v, "onnx", {"sha256": sha, "from_student": scard.weights_sha256, "opset": rep.opset}
    )
