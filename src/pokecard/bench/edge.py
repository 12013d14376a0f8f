"""`pokecard bench edge`: what the edge path costs on this machine, beside the Hailo figures.

* ONNX Runtime per-crop latency on one thread, batch 1, of the student at 224 x 160: float32
  (the project's exporter on a randomly initialized EfficientNet-Lite0 student, same graph and
  cost as a trained one) and int8 (the released models/temporal-forces-student), interleaved.
* The live loop (`pokecard.edge.live.run_live`) on an MP4 of simulated photos: frames/s end to
  end (decode, gate, detect, recognize, vote) and the emitted card sequence.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from pokecard import layout
from pokecard.bench import update_doc_section, write_report
from pokecard.catalog import build_catalog, synth_catalog
from pokecard.edge.live import run_live
from pokecard.embed import create_embedder
from pokecard.export.calibration import device_crop
from pokecard.modelcard import ModelCard
from pokecard.photo import PhotoConfig, eval_seed, simulate_scene
from pokecard.recognize import Recognizer
from pokecard.reference.build import build_reference
from pokecard.store import open_store

STUDENT = Path(__file__).resolve().parents[3] / "models" / "temporal-forces-student"
CARDS = 8

_EXPORT = """
import sys
from pokecard.models import create_model
from pokecard.modelcard import ModelCard
from pokecard.export.onnx import export_onnx
card = ModelCard(name="student", architecture="efficientnet_lite0", embedding_dim=768, input_size=(224, 160))
net = create_model("student", embedding_dim=768, input_size=(224, 160))
export_onnx(net.eval(), card, sys.argv[1], n_parity=4)
card.save(sys.argv[2])
"""


def _float_student(folder: Path) -> Path:
    """A float32 student ONNX, exported in a child process (torch beside OpenCV's threads hung)."""
    out = folder / "student_stage2_final.onnx"
    subprocess.run(
        [sys.executable, "-c", _EXPORT, str(out), str(folder / "model_card.json")], check=True, timeout=900
    )
    return out


def _latency(paths: dict[str, Path], crops: np.ndarray, rounds: int) -> dict[str, dict[str, float]]:
    embs = {k: create_embedder(p, backend="onnxruntime", threads=1) for k, p in paths.items()}
    times: dict[str, list[float]] = {k: [] for k in paths}
    for e in embs.values():
        e.embed(crops[:2], batch_size=1)  # warm-up
    for _ in range(rounds):
        for k, e in embs.items():  # interleaved, so load from other users hits both alike
            for c in crops:
                t0 = time.perf_counter()
                e.embed(c[None], batch_size=1)
                times[k].append((time.perf_counter() - t0) * 1000)
    return {
        k: {
            "p50_ms": round(float(np.median(v)), 2),
            "p90_ms": round(float(np.percentile(v, 90)), 2),
            "n": len(v),
        }
        for k, v in times.items()
    }


def _root(tmp: Path) -> tuple[Path, Any]:
    cat = synth_catalog(CARDS, tmp / "cat", seed=3)
    root = tmp / "root"
    build_catalog(cat, root)
    st = open_store(str(root))
    st.put_file(layout.student_onnx("v1"), STUDENT / "student_stage2_final_int8.onnx")
    st.put_file(layout.model_card(layout.student_dir("v1")), STUDENT / "model_card.json")
    build_reference(root, None, progress=False, calibration_photos=3 * CARDS)
    return root, cat


def _video(cat: Any, path: Path, order: list[int], run: int) -> None:
    import cv2

    photos = [
        simulate_scene(cat.load_image(cat.cards[i]), eval_seed(i, 7), PhotoConfig.eval())[0] for i in order
    ]
    h, w = photos[0].shape[:2]
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (w, h))
    rng = np.random.default_rng(0)
    for j, ph in enumerate(photos):
        if j:
            vw.write(
                cv2.cvtColor(
                    ((photos[j - 1].astype(np.uint16) + ph) // 2).astype(np.uint8), cv2.COLOR_RGB2BGR
                )
            )
        for _ in range(run):
            f = np.clip(ph.astype(np.int16) + rng.integers(-3, 4, ph.shape), 0, 255).astype(np.uint8)
            vw.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    vw.release()


def run(quick: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="pokecard-bench-edge-") as d:
        tmp = Path(d)
        root, cat = _root(tmp)
        card = ModelCard.load(STUDENT / "model_card.json")
        n = 16 if quick else 48
        crops = np.stack(
            [device_crop(simulate_scene(cat.load_image(cat.cards[i % CARDS]), eval_seed(i % CARDS, 100 + i),
                         PhotoConfig.eval())[0], card) for i in range(n)]
        )  # fmt: skip
        (tmp / "float").mkdir()
        paths = {"float32": _float_student(tmp / "float"), "int8": STUDENT / "student_stage2_final_int8.onnx"}
        lat = _latency(paths, crops, 2 if quick else 4)
        order = [2, 5, 0, 6, 1, 7]
        video = tmp / "cards.mp4"
        _video(cat, video, order, 10 if quick else 20)
        emitted: list[dict[str, Any]] = []
        rec = Recognizer(root, threads=1)
        stats = run_live(rec, str(video), emitted.append).as_dict()
    want = [cat.cards[i].card_id for i in order]
    got = [e["card"]["card_id"] for e in emitted]
    return {
        "load_avg": os.getloadavg(),
        "onnx_crop_latency_one_thread": lat,
        "live_video": {
            **stats,
            "expected": want,
            "emitted": got,
            "sequence_right": got == want,
            "threads": 1,
        },
    }


def markdown(res: dict[str, Any]) -> str:
    lat, live = res["onnx_crop_latency_one_thread"], res["live_video"]
    f, q = lat["float32"], lat["int8"]
    st = live["stage_ms_mean"]
    return (
        f"### Edge: ONNX student latency and the live loop ({res['date']}, {res['machine']}, "
        f"load average {res['load_avg'][0]:.2f})\n\n"
        "`pokecard bench edge`. One thread, batch 1, 224 x 160 crops of simulated photos after detection:\n\n"
        "| model | p50 ms/crop | p90 | crops/s (1 / p50) |\n|---|---|---|---|\n"
        f"| ONNX float32 (EfficientNet-Lite0 student) | {f['p50_ms']} | {f['p90_ms']} | {1000 / f['p50_ms']:.0f} |\n"
        f"| ONNX int8 (released student) | {q['p50_ms']} | {q['p90_ms']} | {1000 / q['p50_ms']:.0f} |\n\n"
        f"Live loop on an MP4 ({live['frames']} frames of 960 x 720, {len(live['expected'])} cards, one thread): "
        f"**{live['frames_per_s']} frames/s** end to end, {live['gated_out']} frames gated out, "
        f"sequence right: {live['sequence_right']}; mean per recognized frame: detect {st.get('detect')} ms, "
        f"embed {st.get('embed')} ms, search {st.get('search')} ms, verify {st.get('verify')} ms, "
        f"total {st.get('total')} ms.\n"
    )


def main(quick: bool = False) -> dict[str, Any]:
    res = run(quick)
    path = write_report("edge", res)
    import json

    res = json.loads(path.read_text())
    update_doc_section("edge", markdown(res))
    return res
