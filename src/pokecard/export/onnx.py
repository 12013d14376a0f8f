"""ONNX export of an embedding network with the pokecard input contract.

The exported graph takes ``images`` uint8 [N, H, W, 3] RGB (dynamic batch) and does the
model card's normalization ((x / 255 - mean) / std) and NHWC -> NCHW inside, so every
runtime feeds raw pixels; it returns ``embeddings`` float32 [N, D], L2-normalized.
After export: ``onnx.checker``, parity against PyTorch on 32 images (min cosine >= 0.9999)
and, when ``slim`` and onnxslim is installed, a slimmed graph that must pass parity too.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pokecard import atomic
from pokecard.errors import ModelError
from pokecard.modelcard import ModelCard
from pokecard.preprocess import resize_batch

log = logging.getLogger(__name__)

OPSET = 17
PARITY_MIN_COSINE = 0.9999


@dataclass
class ExportReport:
    path: str
    opset: int
    parity_images: int
    parity_min_cosine: float
    slimmed: bool
    size_bytes: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def uint8_wrapper(net: Any, mean: tuple[float, ...], std: tuple[float, ...]) -> Any:
    """nn.Module: uint8 NHWC RGB -> normalized float NCHW -> net -> L2-normalized embeddings."""
    import torch

    class Uint8Embedder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net
            # mean/std folded into one scale and shift: (x/255 - m)/s = x * (1/(255 s)) - m/s
            m = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
            s = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
            self.register_buffer("scale", 1.0 / (255.0 * s))
            self.register_buffer("shift", m / s)

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            x = images.permute(0, 3, 1, 2).to(torch.float32)
            x = x * self.scale - self.shift
            return torch.nn.functional.normalize(self.net(x), dim=1)

    return Uint8Embedder().eval()


def parity_images(n: int, hw: tuple[int, int], seed: int = 0, images: np.ndarray | None = None) -> np.ndarray:
    """``n`` uint8 images for parity: given ones (resized/cycled) or seeded noise + gradients."""
    h, w = hw
    if images is not None and len(images):
        card = ModelCard(name="parity", architecture="-", embedding_dim=1, input_size=(h, w))
        x = resize_batch([images[i % len(images)] for i in range(n)], card)
        return x
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    out = np.empty((n, h, w, 3), dtype=np.uint8)
    for i in range(n):
        base = (yy * rng.uniform(0.2, 1.5) + xx * rng.uniform(0.2, 1.5))[..., None] * rng.uniform(0.5, 2, 3)
        out[i] = np.clip(base % 256 + rng.normal(0, 20, (h, w, 3)), 0, 255).astype(np.uint8)
    return out


def torch_embed(wrapper: Any, images: np.ndarray, batch: int = 32) -> np.ndarray:
    import torch

    outs = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            outs.append(wrapper(torch.from_numpy(np.ascontiguousarray(images[i : i + batch]))).numpy())
    return np.concatenate(outs).astype(np.float32)


def _ort_embed(path: Path, images: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {"images": images})[0]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine between two embedding batches."""
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return (a * b).sum(1)


def _min_cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(_cosines(a, b).min())


def export_onnx(
    net: Any,
    card: Any,
    out: str | Path,
    *,
    sample_images: np.ndarray | None = None,
    n_parity: int = 32,
    slim: bool = True,
    opset: int = OPSET,
) -> ExportReport:
    """Export ``net`` (an EmbeddingNet in eval mode) per ``card`` to ``out``; check it; return a report."""
    import onnx
    import torch

    if opset < 17:
        raise ModelError(f"opset {opset} is too old: pokecard exports use opset >= 17")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    net = net.eval().to("cpu").to(memory_format=torch.contiguous_format)
    wrapper = uint8_wrapper(net, card.mean, card.std)
    h, w = card.input_size
    dummy = torch.zeros((2, h, w, 3), dtype=torch.uint8)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d) / "model.onnx"
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
            torch.onnx.export(
                wrapper,
                (dummy,),
                str(tmp),
                input_names=["images"],
                output_names=["embeddings"],
                dynamic_axes={"images": {0: "batch"}, "embeddings": {0: "batch"}},
                opset_version=opset,
                do_constant_folding=True,
                dynamo=False,
            )
        model = onnx.load(str(tmp))
        try:
            onnx.checker.check_model(model, full_check=True)
        except onnx.checker.ValidationError as e:
            raise ModelError(f"exported ONNX fails onnx.checker: {str(e).splitlines()[0]}") from e
        x = parity_images(n_parity, (h, w), images=sample_images)
        ref = torch_embed(wrapper, x)
        got = _ort_embed(tmp, x)
        cos = _min_cos(ref, got)
        if cos < PARITY_MIN_COSINE:
            raise ModelError(
                f"ONNX parity failed: min cosine {cos:.6f} < {PARITY_MIN_COSINE} between PyTorch and ONNX Runtime "
                f"on {n_parity} images"
            )
        slimmed = False
        if slim:
            try:
                import onnxslim
            except ImportError:
                log.info("onnxslim is not installed; keeping the unslimmed graph")
            else:
                slim_path = Path(d) / "slim.onnx"
                try:
                    import contextlib
                    import io

                    # onnxslim prints a summary table on stdout: keep stdout clean for --json.
                    with contextlib.redirect_stdout(io.StringIO()):
                        onnxslim.slim(str(tmp), str(slim_path))
                    cos_s = _min_cos(ref, _ort_embed(slim_path, x))
                    if cos_s >= PARITY_MIN_COSINE:
                        tmp, cos, slimmed = slim_path, min(cos, cos_s), True
                    else:
                        log.warning(
                            "onnxslim output fails parity (min cos %.6f); keeping the original", cos_s
                        )
                except Exception as e:  # onnxslim is optional: never fail an export on it
                    log.warning("onnxslim failed (%s); keeping the original graph", str(e).splitlines()[0])

        atomic.write_bytes(out, tmp.read_bytes())
    return ExportReport(str(out), opset, n_parity, cos, slimmed, out.stat().st_size)


# int8 for CPUs (onnxruntime); refused below this mean cosine to float32 on held-out crops
# (what the released student reaches, and its speed: docs/recognizer.md, "int8 student").
INT8_MIN_MEAN_COSINE = 0.98


@dataclass
class QuantReport:
    path: str
    calibration_images: int
    check_images: int
    mean_cosine: float
    min_cosine: float
    size_bytes: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def input_nodes(path: str | Path) -> list[str]:
    """Names of the nodes before the first Conv: the uint8 input's transpose, cast and
    normalization. int8 keeps them in float: quantized, the normalization becomes a QLinearMul
    on the whole input image (about 2 ms of the 11 ms per crop, one thread)."""
    import onnx

    names = []
    for node in onnx.load(str(path)).graph.node:
        if node.op_type == "Conv":
            break
        names.append(node.name)
    return names


def quantize_int8(
    src: str | Path, dst: str | Path, calibration: np.ndarray, check: np.ndarray
) -> QuantReport:
    """Static int8 quantization of a pokecard ONNX (QDQ, per-channel int8 weights, uint8
    activations calibrated on ``calibration``: uint8 NHWC crops at the model's input size).

    The input contract stays (uint8 NHWC in, L2-normalized float32 out). Checked on
    ``check`` (other crops): the mean cosine to the float32 model must reach
    ``INT8_MIN_MEAN_COSINE``, else nothing is written and a ModelError says so. ``dst`` is
    written atomically."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise ModelError(f"{src}: ONNX model not found")
    for name, a in (("calibration", calibration), ("check", check)):
        if a.dtype != np.uint8 or a.ndim != 4 or a.shape[3] != 3 or len(a) == 0:
            raise ModelError(
                f"int8 {name} images must be uint8 [N, H, W, 3] with N >= 1, got {a.dtype} {a.shape}"
            )

    class _Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.i = 0

        def get_next(self) -> dict[str, np.ndarray] | None:
            if self.i >= len(calibration):
                return None
            batch = calibration[self.i : self.i + 8]
            self.i += 8
            return {"images": batch}

    with tempfile.TemporaryDirectory() as d:
        pre, tmp = Path(d) / "pre.onnx", Path(d) / "int8.onnx"
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        quantize_static(
            str(pre),
            str(tmp),
            _Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            weight_type=QuantType.QInt8,
            activation_type=QuantType.QUInt8,
            nodes_to_exclude=input_nodes(pre),
        )
        cos = _cosines(_ort_embed(src, check), _ort_embed(tmp, check))
        if float(cos.mean()) < INT8_MIN_MEAN_COSINE:
            raise ModelError(
                f"{src}: int8 model disagrees with float32 (mean cosine {cos.mean():.4f} < "
                f"{INT8_MIN_MEAN_COSINE} on {len(check)} crops); not written"
            )
        data = tmp.read_bytes()
    dst.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(dst, data)
    return QuantReport(str(dst), len(calibration), len(check), float(cos.mean()), float(cos.min()), len(data))
