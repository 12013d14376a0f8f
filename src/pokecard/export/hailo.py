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
from typing import Any

import numpy as np

from pokecard import atomic, layout
from pokecard.catalog import load_processed
from pokecard.embed import create_embedder
from pokecard.errors import MissingDependency, ModelError
from pokecard.export.calibration import calibration_crops, check_crops
from pokecard.model_files import resolve_model
from pokecard.modelcard import ModelCard, card_path_for
from pokecard.preprocess import l2_normalize, resize_batch
from pokecard.store import Store, open_store, sha256_file

log = logging.getLogger(__name__)

HW_ARCHS = ("hailo8", "hailo8l", "hailo8r")
CALIBRATION_SIZE = 1024
SHARD = 256  # images per calibration .npy shard (224x160x3 uint8: 27.5 MB)
# The quantized emulator must agree with ONNX this well before a HEF is written (docs/edge.md):
# the int8 ONNX of the released student reached mean 0.9957 / min 0.958 with top-1 unchanged.
MIN_MEAN_COSINE = 0.98
MIN_TOP1_AGREEMENT = 0.97
HELD_OUT = 64  # held-out simulated photos (evaluation seeds) for that check
# Hailo-8 family pairs (Hailo Model Zoo release notes): DFC 3.N goes with HailoRT 4.(N-10).
DFC_HAILORT = (
    ("3.23.0", "4.13.0"),
    ("3.26.0", "4.16.0"),
    ("3.27.0", "4.17.0"),
    ("3.29.0", "4.19.0"),
    ("3.31.0", "4.21.0"),
)
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


class HefToolchainMissing(MissingDependency):
    """Everything for the compile is prepared; only the Dataflow Compiler is missing (exit 2)."""

    exit_code = 2


def dfc_missing_message(root_url: str, model_key: str, hw_arch: str, prepared: list[str]) -> str:
    pairs = ", ".join(f"DFC {d} + HailoRT {r}" for d, r in DFC_HAILORT)
    return (
        f"prepared {', '.join(prepared)} under {root_url}; the compile step needs the Hailo Dataflow Compiler "
        "(hailo_sdk_client), which is not installed. Get the x86_64 Linux wheel from Hailo's Developer Zone "
        "(hailo.ai/developer-zone, free registration; Ubuntu 22.04, Python 3.10, 16+ GB RAM). Use the DFC that "
        f"matches the Pi's HailoRT (`hailortcli --version` on the Pi; {pairs}: DFC 3.N pairs with HailoRT "
        "4.(N-10); DFC/HailoRT 5.x are for Hailo-10/15 only). On that x86 box, with this root: "
        f"`pip install hailo_dataflow_compiler-<version>-py3-none-linux_x86_64.whl && pokecard export hef "
        f"--root {root_url} --model {model_key} --hw-arch {hw_arch}`"
    )


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


def _prepared_key(version: str, name: str) -> str:
    return f"{layout.hailo_dir(version)}/{name}"


def calibration_keys(card: ModelCard, n: int) -> tuple[list[str], str]:
    """The shard keys and the metadata key of an ``n``-image calibration set at the card's size."""
    h, w = card.input_size
    base = f"{layout.CALIBRATION_DIR}/{n}x{h}x{w}"
    return [f"{base}/shard_{i:03d}.npy" for i in range((n + SHARD - 1) // SHARD)], f"{base}/calibration.json"


def write_calibration(
    store: Store, card: ModelCard, n: int = CALIBRATION_SIZE, *, seed: int = 0
) -> np.ndarray:
    """Build (or reuse) the calibration set under ``layout.CALIBRATION_DIR``: ``n`` simulated
    photos of the built catalogue (training seeds, never evaluation seeds) put through the
    device's own detection, rectification and resize, as uint8 NHWC .npy shards."""
    import io

    st = open_store(store)
    shards, meta_key = calibration_keys(card, n)
    cat = load_processed(st)
    h, w = card.input_size
    want = {"n": n, "input_size": [h, w], "seed": seed, "catalog": cat.content_hash(), "layout": "NHWC uint8 RGB 0-255",
            "pipeline": "photo.simulate_scene(train config) -> detect.detect_fast|detect -> Detection.crop -> embed.resize_batch",
            "shards": shards}  # fmt: skip
    if st.exists(meta_key) and st.get_json(meta_key) == want and all(st.exists(k) for k in shards):
        return np.concatenate([np.load(io.BytesIO(st.get_bytes(k)), allow_pickle=False) for k in shards])
    if not cat.cards:
        raise ModelError("the built catalogue is empty: run `pokecard catalog build` first")
    out = calibration_crops(cat, card, n, seed=seed)
    with st.batch():
        for j, key in enumerate(shards):
            buf = io.BytesIO()
            np.save(buf, out[j * SHARD : (j + 1) * SHARD])
            st.put_bytes(key, buf.getvalue())
        st.put_json(meta_key, want)
    return out


def extract_body(onnx_path: Path, cut: HailoCut, out: Path) -> bool:
    """The float body the chip runs (first Conv to the embedding head) as its own ONNX, for
    inspection and for DFC versions that take a pre-cut graph; False when onnx is absent."""
    try:
        import onnx
        from onnx.utils import Extractor
    except ImportError:
        return False
    model = onnx.shape_inference.infer_shapes(onnx.load(str(onnx_path)))  # the Extractor needs every shape
    nodes = {n.name: n for n in model.graph.node}
    body = Extractor(model).extract_model([nodes[cut.start_node].input[0]], [nodes[cut.end_node].output[0]])
    onnx.save(body, str(out))
    return True


def emulator_check(
    runner: Any, onnx_path: Path, card: ModelCard, crops: np.ndarray, gallery: np.ndarray
) -> dict[str, float]:
    """Quantized emulator vs ONNX on the same crops: mean/min cosine and top-1 agreement of the
    nearest gallery card; refuses (ModelError) below MIN_MEAN_COSINE / MIN_TOP1_AGREEMENT."""
    from hailo_sdk_client import InferenceContext

    onnx_emb = create_embedder(onnx_path, backend="onnxruntime", card=card)
    ref = onnx_emb.embed(crops)
    gallery = onnx_emb.embed(gallery)  # the catalogue's scans, embedded by ONNX for both sides
    with runner.infer_context(InferenceContext.SDK_QUANTIZED) as ctx:
        emu = l2_normalize(np.asarray(runner.infer(ctx, crops.astype(np.float32))).reshape(len(crops), -1))
    cos = np.sum(ref * emu, axis=1)
    agree = float(np.mean(np.argmax(ref @ gallery.T, axis=1) == np.argmax(emu @ gallery.T, axis=1)))
    res = {
        "mean_cosine": float(cos.mean()),
        "min_cosine": float(cos.min()),
        "top1_agreement": agree,
        "n": len(crops),
    }
    if res["mean_cosine"] < MIN_MEAN_COSINE or agree < MIN_TOP1_AGREEMENT:
        raise ModelError(
            f"the quantized Hailo model disagrees with ONNX: mean cosine {res['mean_cosine']:.4f} (need {MIN_MEAN_COSINE}), "
            f"top-1 agreement {agree:.1%} (need {MIN_TOP1_AGREEMENT:.0%}) on {len(crops)} held-out photos; "
            "no HEF written. Try a larger --calib or optimization_level 3"
        )
    return res


def _held_out(st: Store, card: ModelCard, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Held-out device crops (evaluation seeds) and the catalogue gallery crops at the card's size."""
    cat = load_processed(st)
    n = n or HELD_OUT
    crops = check_crops(cat, card, n)
    gallery = resize_batch([cat.load_image(c) for c in cat.cards], card)
    return crops, gallery


def export_hef(
    root: Any, *, model: str = "auto", hw_arch: str = "hailo8l", calib: int = CALIBRATION_SIZE
) -> dict[str, Any]:
    """`pokecard export hef`: prepare (model script, cut, float body, calibration shards), then
    compile with the DFC; without it raise HefToolchainMissing (exit 2) naming what to do."""
    import dataclasses
    import tempfile

    if hw_arch not in HW_ARCHS:
        raise ModelError(f"--hw-arch {hw_arch!r} is not one of {', '.join(HW_ARCHS)}")

    st = root if isinstance(root, Store) else open_store(None if root is None else str(root))
    resolved = resolve_model(st, model)
    if resolved is None:
        raise ModelError(f"no student ONNX under {st.url}{layout.STUDENT_DIR}: run `make train` first")
    card = ModelCard.load(card_path_for(resolved.path))
    if card.extra.get("quantization"):
        raise ModelError(
            f"{resolved.path} is an int8 ONNX: the Dataflow Compiler quantizes for the chip itself and needs the "
            "float32 student (`--model models/efficientnet-student/stage2/<version>/student_stage2_final.onnx`)"
        )
    cut = find_cut(resolved.path, card)
    version = resolved.path.parent.name
    prepared = []
    with tempfile.TemporaryDirectory() as d, st.batch():
        st.put_bytes(_prepared_key(version, "model_script.alls"), model_script(card).encode())
        st.put_json(_prepared_key(version, "hailo_cut.json"), {**dataclasses.asdict(cut), "onnx": resolved.key or str(resolved.path),
                    "onnx_sha256": sha256_file(resolved.path), "hw_arch": hw_arch})  # fmt: skip
        prepared += ["model_script.alls", "hailo_cut.json"]
        if extract_body(resolved.path, cut, Path(d) / "body.onnx"):
            st.put_file(_prepared_key(version, "student_body_float.onnx"), Path(d) / "body.onnx")
            prepared.append("student_body_float.onnx")
    calibration = write_calibration(st, card, calib)
    shards, _ = calibration_keys(card, calib)
    prepared.append(f"{calib} calibration images in {len(shards)} .npy shards ({layout.CALIBRATION_DIR}/)")
    try:
        ClientRunner = _client_runner()  # noqa: N806
    except MissingDependency as e:
        raise HefToolchainMissing(
            dfc_missing_message(st.url, resolved.key or str(resolved.path), hw_arch, prepared)
        ) from e
    runner = ClientRunner(hw_arch=hw_arch)
    h, w = card.input_size
    runner.translate_onnx_model(str(resolved.path), "pokecard_student", start_node_names=[cut.start_node],
                                end_node_names=[cut.end_node], net_input_shapes={cut.start_node: list(cut.input_shape)})  # fmt: skip
    runner.load_model_script(model_script(card))
    runner.optimize(calibration.astype(np.float32))
    check = emulator_check(runner, resolved.path, card, *_held_out(st, card))
    hef = runner.compile()
    if not isinstance(hef, bytes | bytearray) or not hef:
        raise ModelError("the Dataflow Compiler returned no HEF bytes")
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "m.hef"
        atomic.write_bytes(out, bytes(hef))
        hef_card = dataclasses.replace(
            card,
            hef_sha256=sha256_file(out),
            extra={**card.extra, "hw_arch": hw_arch, "emulator_check": check},
        )
        with st.batch():
            st.put_file(layout.hailo_hef(version), out)
            st.put_json(layout.model_card(layout.hailo_dir(version)), hef_card.as_dict())
    return {
        "hef": f"{st.url}{layout.hailo_hef(version)}",
        "hw_arch": hw_arch,
        "calibration_images": calib,
        "emulator_check": check,
    }
