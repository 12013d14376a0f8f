"""Card fixtures shared by the vision, reference, export and bench tests (a pytest plugin of
tests/conftest.py): a small catalogue built into a root, reference DBs, a tiny random-weight
ONNX embedding model with its model card, and simulated photos (``photo_of``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

N_CARDS = 12


@pytest.fixture(scope="session")
def small_catalog(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """A 12-card synthetic catalogue (deterministic; needs no shared data)."""
    from pokecard.catalog import synth_catalog

    return synth_catalog(N_CARDS, tmp_path_factory.mktemp("synth"), seed=3)


@pytest.fixture(scope="session")
def built_root(small_catalog, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: ANN001
    """A project root with the catalogue built (processed crops), no reference DB yet."""
    from pokecard.catalog import build_catalog

    root = tmp_path_factory.mktemp("root")
    build_catalog(small_catalog, root)
    return root


def _copy_root(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst, dirs_exist_ok=True)
    return dst


@pytest.fixture(scope="session")
def tf_root(built_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Root with a training-free reference DB of the whole catalogue (calibrated on a few photos)."""
    from pokecard.reference.build import build_reference

    root = _copy_root(built_root, tmp_path_factory.mktemp("tf"))
    build_reference(root, None, progress=False, calibration_photos=N_CARDS)
    return root


@pytest.fixture(scope="session")
def ooc_root(built_root: Path, small_catalog, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: ANN001
    """Root whose reference DB leaves out the last 3 cards (they are out-of-catalogue)."""
    from pokecard.catalog import Catalog
    from pokecard.catalog.build import load_processed
    from pokecard.reference.build import build_reference

    root = _copy_root(built_root, tmp_path_factory.mktemp("ooc"))
    cat = load_processed(root)
    sub = Catalog(cat.name, cat.root, cat.cards[: N_CARDS - 3])
    build_reference(root, None, catalog=sub, progress=False, calibration_photos=45)
    return root


def export_tiny_model(
    folder: Path, seed: int = 0, dim: int = 32, input_hw: tuple[int, int] = (64, 48)
) -> Path:
    """A small random-weight conv net exported the way pokecard models are: uint8 NHWC in,
    normalization inside the graph, L2-normalized float32 ``embeddings`` out."""
    import torch
    from torch import nn

    from pokecard.modelcard import ModelCard

    torch.manual_seed(seed)
    card = ModelCard(
        name="student", architecture=f"tiny-test-net-{seed}", embedding_dim=dim, input_size=input_hw
    )

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv2d(3, 8, 3, stride=2, padding=1),
                nn.ReLU(),
                nn.Conv2d(8, 16, 3, stride=2, padding=1),
                nn.ReLU(),
                nn.AdaptiveAvgPool2d(2),
                nn.Flatten(),
                nn.Linear(64, dim),
            )
            self.register_buffer("mean", torch.tensor(card.mean).view(1, 3, 1, 1) * 255)
            self.register_buffer("std", torch.tensor(card.std).view(1, 3, 1, 1) * 255)

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            x = images.permute(0, 3, 1, 2).float()
            x = (x - self.mean) / self.std
            e = self.body(x)
            return e / e.norm(dim=1, keepdim=True).clamp_min(1e-6)

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "student_stage2_final.onnx"
    dummy = torch.zeros((1, *input_hw, 3), dtype=torch.uint8)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            Net().eval(),
            (dummy,),
            str(path),
            input_names=["images"],
            output_names=["embeddings"],
            dynamic_axes={"images": {0: "batch"}, "embeddings": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    from pokecard.store import sha256_file

    card.onnx_sha256 = sha256_file(path)
    card.weights_sha256 = card.onnx_sha256
    card.save(folder / "model_card.json")
    return path


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two different tiny ONNX embedding models (A and B), each with its model card.

    Exported in a child process: torch's OpenMP runtime loaded next to OpenCV's and
    usearch's thread pools in one test process deadlocked here."""
    import subprocess
    import sys

    base = tmp_path_factory.mktemp("models")
    for name, seed in (("a", 0), ("b", 1)):
        subprocess.run([sys.executable, __file__, str(base / name), str(seed)], check=True, timeout=300)
    return base / "a" / "student_stage2_final.onnx", base / "b" / "student_stage2_final.onnx"


def photo_of(catalog, i: int, seed: int) -> np.ndarray:  # noqa: ANN001
    """A simulated phone photo of card ``i`` (held-out evaluation seed)."""
    from pokecard.photo import PhotoConfig, eval_seed, simulate_scene

    photo, _ = simulate_scene(catalog.load_image(catalog.cards[i]), eval_seed(i, seed), PhotoConfig.eval())
    return photo


def write_jpeg(path: Path, rgb: np.ndarray, quality: int = 90) -> Path:
    from PIL import Image

    Image.fromarray(rgb).save(path, quality=quality)
    return path


if __name__ == "__main__":  # the tiny_models fixture runs this in a child process
    import sys

    export_tiny_model(Path(sys.argv[1]), seed=int(sys.argv[2]))
