"""Hailo-8/8L compilation hook: student ONNX + calibration set -> HEF, via Hailo's Dataflow
Compiler (DFC, Python package ``hailo_sdk_client``).

The DFC is not on PyPI (x86 Linux wheel from Hailo's Developer Zone), so it is imported
lazily and its absence is a clear :class:`MissingDependency`. Everything around it (finding
the graph's float body, the model script, the calibration set, the model card beside the
HEF) is ordinary code tested here against the DFC's documented ``ClientRunner`` API:
``ClientRunner(hw_arch=...)``, ``translate_onnx_model(path, name, start_node_names=,
end_node_names=, net_input_shapes=)``, ``load_model_script(str)``, ``optimize(calib)``,
``compile() -> bytes``, ``save_har(path)``.

Why the graph is cut: pokecard ONNX models take uint8 NHWC and normalize inside, and end
with an L2 normalization. On Hailo the normalization belongs in the model script (it runs
on the chip's input layer, in the quantized domain) and the L2 norm on the host (the
embedder normalizes every backend's output anyway). So we translate from the first Conv's
float input to the embedding head's output and re-add normalization in the script; the
HEF then takes the same uint8 NHWC crop the ONNX model takes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pokecard import atomic, layout
from pokecard.catalog import load_processed
from pokecard.errors import MissingDependency, ModelError
from pokecard.modelcard import ModelCard
from pokecard.photo import PhotoConfig, simulate_crop, train_seed
from pokecard.preprocess import resize_batch
from pokecard.progress import progress

log = logging.getLogger(__name__)

HW_ARCHS = ("hailo8", "hailo8l", "hailo8r")
CALIBRATION_SIZE = 1024
DFC_MISSING = (
    "the Hailo Dataflow Compiler (Python package hailo_sdk_client) is not installed. It is not on PyPI: "
    "download the x86_64 Linux wheel (hailo_dataflow_compiler-<version>-py3-none-linux_x86_64.whl) from "
    "Hailo's Developer Zone, `.venv/bin/pip install` it, and rerun `make export-hef`"
)


@dataclass(frozen=True)
class HailoCut:
    """Where the chip's part of the ONNX graph starts and ends."""

    start_node: str  # tensor name of the first Conv's float NCHW input
    end_node: str  # name of the node producing the un-normalized embedding
    input_shape: tuple[int, int, int, int]  # [1, 3, H, W]


def find_cut(onnx_path: str | Path, card: ModelCard) -> HailoCut:
    """Locate the float body of a pokecard ONNX graph (after normalization, before L2 norm)."""
    import onnx

    try:
        model = onnx.load(str(onnx_path))
    except Exception as e:  # onnx raises DecodeError and friends
        raise ModelError(f"{onnx_path}: cannot read ONNX model ({e})") from e
    nodes = list(model.graph.node)
    convs = [n for n in nodes if n.op_type == "Conv"]
    if not convs:
        raise ModelError(f"{onnx_path}: no Conv node; is this a pokecard embedding model?")
    heads = [n for n in nodes if n.op_type in ("Gemm", "MatMul")]
    if not heads:
        raise ModelError(f"{onnx_path}: no Gemm/MatMul embedding head found")
    h, w = card.input_size
    return HailoCut(start_node=convs[0].name, end_node=heads[-1].name, input_shape=(1, 3, h, w))


def model_script(card: ModelCard, *, optimization_level: int = 2, compression_level: int = 0) -> str:
    """The DFC model script: normalization on the chip's input, then optimization settings."""
    mean = ", ".join(f"{255.0 * m:.3f}" for m in card.mean)
    std = ", ".join(f"{255.0 * s:.3f}" for s in card.std)
    return (
        f"normalization1 = normalization([{mean}], [{std}])\n"
        f"model_optimization_flavor(optimization_level={optimization_level}, "
        f"compression_level={compression_level})\n"
    )


def calibration_set(crops: np.ndarray | list[np.ndarray], card: ModelCard) -> np.ndarray:
    """Calibration images as the DFC wants them: float32 NHWC in 0..255 at the card's size
    (normalization is applied by the model script's normalization layer)."""
    if len(crops) == 0:
        raise ModelError("empty calibration set: give it simulated photos of catalogue cards")
    return resize_batch(crops, card).astype(np.float32)


def _client_runner():  # noqa: ANN202 - the DFC's own type
    try:
        from hailo_sdk_client import ClientRunner
    except ImportError as e:
        raise MissingDependency(DFC_MISSING) from e
    return ClientRunner


def compile_hef(
    onnx_path: str | Path,
    card: ModelCard,
    calibration: np.ndarray,
    out_path: str | Path,
    *,
    hw_arch: str = "hailo8l",
    har_path: str | Path | None = None,
) -> Path:
    """Translate, quantize (with ``calibration``) and compile; write the HEF atomically."""
    if hw_arch not in HW_ARCHS:
        raise ModelError(f"hw_arch {hw_arch!r} is not one of {', '.join(HW_ARCHS)}")
    ClientRunner = _client_runner()
    cut = find_cut(onnx_path, card)
    h, w = card.input_size
    if calibration.ndim != 4 or calibration.shape[1:] != (h, w, 3):
        raise ModelError(f"calibration set has shape {calibration.shape}; expected [N, {h}, {w}, 3]")
    runner = ClientRunner(hw_arch=hw_arch)
    runner.translate_onnx_model(
        str(onnx_path),
        "pokecard_student",
        start_node_names=[cut.start_node],
        end_node_names=[cut.end_node],
        net_input_shapes={cut.start_node: list(cut.input_shape)},
    )
    runner.load_model_script(model_script(card))
    runner.optimize(calibration)
    if har_path is not None:
        runner.save_har(str(har_path))
    hef = runner.compile()
    if not isinstance(hef, bytes | bytearray) or not hef:
        raise ModelError("the Dataflow Compiler returned no HEF bytes")
    atomic.write_bytes(out_path, bytes(hef))
    log.info("wrote %s (%d bytes) for %s", out_path, len(hef), hw_arch)
    return Path(out_path)


def write_calibration(
    store: object, card: ModelCard, n: int = CALIBRATION_SIZE, *, seed: int = 0
) -> np.ndarray:
    """Build (or reuse) the calibration set under ``layout.CALIBRATION_DIR``: ``n`` simulated
    training-style crops of the built catalogue at the card's input size, uint8 NHWC.

    Calibration must look like what the chip will see on the device, so it uses the same
    photo simulator as training (training seeds, never evaluation seeds)."""
    import io

    h, w = card.input_size
    key = f"{layout.CALIBRATION_DIR}/calibration_{n}x{h}x{w}.npy"
    meta_key = f"{layout.CALIBRATION_DIR}/calibration_{n}x{h}x{w}.json"
    cat = load_processed(store)
    want = {"n": n, "input_size": [h, w], "seed": seed, "catalog": cat.content_hash()}
    if store.exists(key) and store.exists(meta_key) and store.get_json(meta_key) == want:  # type: ignore[attr-defined]
        return np.load(io.BytesIO(store.get_bytes(key)))  # type: ignore[attr-defined]
    if not cat.cards:
        raise ModelError("the built catalogue is empty: run `pokecard catalog build` first")
    out = np.empty((n, h, w, 3), np.uint8)
    cfg = PhotoConfig.train()
    images = {}
    with progress(n, "calibration crops") as advance:
        for i in range(n):
            ci = i % len(cat.cards)
            if ci not in images:
                images[ci] = cat.load_image(cat.cards[ci])
            crop = simulate_crop(images[ci], train_seed(ci, 1_000_000 + seed * n + i), cfg)
            out[i] = resize_batch([crop], card)[0]
            advance(1)
    buf = io.BytesIO()
    np.save(buf, out)
    with store.batch():  # type: ignore[attr-defined]
        store.put_bytes(key, buf.getvalue())  # type: ignore[attr-defined]
        store.put_json(meta_key, want)  # type: ignore[attr-defined]
    return out
