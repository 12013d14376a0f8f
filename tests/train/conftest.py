"""Fixtures for the training tests: tiny presets through the real code, one trained root."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

# Small enough for 2 shared cores: 64 x 48 px inputs, 6 cards, a few steps.
TINY = {
    "base": "demo",
    "name": "tiny",
    "teacher": {"input_size": [64, 48], "epochs": 2, "steps_per_epoch": 2, "batch_size": 8},
    # the production student (Lite0), not the demo's faster MobileNetV4: the tests cover it
    "student": {
        "model": "student",
        "input_size": [64, 48],
        "epochs": 2,
        "steps_per_epoch": 2,
        "batch_size": 8,
    },
    "data": {"views_per_card": 2, "eval_photos_per_card": 2, "workers": 1},
}


@pytest.fixture(autouse=True)
def _pool_cache(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    # Pools are cached by content hash; one cache per test session, never the user's.
    monkeypatch.setenv("POKECARD_CACHE", str(tmp_path_factory.getbasetemp() / "pool-cache"))


def write_preset(path: Path, **over: dict) -> Path:
    doc = json.loads(json.dumps(TINY))
    for k, v in over.items():
        if isinstance(v, dict):
            doc.setdefault(k, {}).update(v)
        else:
            doc[k] = v
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture(scope="session")
def synth_cat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pokecard.catalog import synth_catalog

    out = tmp_path_factory.mktemp("cat") / "syn6"
    synth_catalog(6, out, seed=3)
    return out


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, synth_cat: Path) -> dict:
    """One tiny run of every stage (with MLflow tracking) shared by the read-only tests."""
    import os

    base = tmp_path_factory.mktemp("trained")
    os.environ["POKECARD_CACHE"] = str(tmp_path_factory.getbasetemp() / "pool-cache")
    preset = write_preset(base / "tiny.json")
    from pokecard.train.pipeline import train

    root = base / "root"
    result = train(root, catalog=synth_cat, preset=str(preset), track=True)
    return {"root": root, "preset": preset, "result": result, "catalog": synth_cat}


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> None:
    # On a shared 2-core machine one intra-op thread per process is several times faster
    # than two fighting other processes (OpenMP spin-waits); results do not depend on it.
    import os

    import torch

    torch.set_num_threads(1)
    os.environ["OMP_NUM_THREADS"] = "1"
