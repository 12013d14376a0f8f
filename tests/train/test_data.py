"""Training data pools: fresh pools made in the background, cache keys, worker counts."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest


def _cards(synth_cat: Path, n: int = 3) -> list[np.ndarray]:
    from pokecard.catalog import build_catalog, load_processed
    from pokecard.store import open_store

    store = open_store(synth_cat.parent / "pool-root")
    build_catalog(synth_cat, store)
    cat = load_processed(store)
    return [cat.load_image(c) for c in cat.cards[:n]]


def test_refresher_makes_new_crops_from_unused_training_seeds(synth_cat: Path) -> None:
    from pokecard.train.data import PoolRefresher, training_pool

    cards = _cards(synth_cat)
    base = training_pool(cards, 2, hw=(48, 32), config_name="train", workers=1, catalog_hash=None)
    r = PoolRefresher(cards, 2, (48, 32), "train", workers=1)
    try:
        assert r.ready() is None  # nothing asked for yet: never blocks, never invents a pool
        r.start()
        deadline = time.monotonic() + 120
        fresh = None
        while fresh is None and time.monotonic() < deadline:
            fresh = r.ready()
            time.sleep(0.05)
        assert fresh is not None, "the background pool never became ready"
        assert r.generation == 2  # taking one starts the next
    finally:
        r.close()
    assert fresh[0].shape == base[0].shape and fresh[0].dtype == np.uint8
    np.testing.assert_array_equal(fresh[1], base[1])
    n_sim = len(cards) * 2
    # simulated crops differ (seeds views..2*views-1, not 0..views-1); the clean cards are the same
    assert not np.array_equal(fresh[0][:n_sim], base[0][:n_sim])
    np.testing.assert_array_equal(fresh[0][n_sim:], base[0][n_sim:])
    again = training_pool(cards, 2, hw=(48, 32), config_name="train", workers=1, catalog_hash=None, offset=2)
    np.testing.assert_array_equal(fresh[0], again[0])


def test_pool_cache_key_changes_with_the_simulator_version(monkeypatch: pytest.MonkeyPatch) -> None:
    from pokecard.train import data
    from pokecard.train.data import pool_key

    a = pool_key("cat", "train", 4, (96, 64), False)
    monkeypatch.setattr(data, "SIMULATOR_VERSION", "photo-next")
    assert pool_key("cat", "train", 4, (96, 64), False) != a


def test_pipeline_swaps_in_a_fresh_pool_at_each_refresh_boundary(
    synth_cat: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pokecard.train.data as data
    from pokecard.train import loop
    from pokecard.train.pipeline import train

    from .conftest import write_preset

    class Waiting(data.PoolRefresher):
        # The real refresher never blocks training; this one waits, so the count is exact.
        def ready(self):  # type: ignore[no-untyped-def]
            if self._next is not None:
                self._next.result()
            return super().ready()

    monkeypatch.setattr(loop, "PoolRefresher", Waiting)  # the name the training loop calls
    preset = write_preset(
        tmp_path / "p.json",
        teacher={"epochs": 3, "steps_per_epoch": 1},
        data={"refresh_every": 1, "workers": 1},
    )
    res = train(
        tmp_path / "root", catalog=synth_cat, preset=str(preset), track=False, stages=["catalog", "teacher"]
    )
    t = res.stage("teacher")
    assert t is not None and t.status == "ran" and t.epochs_run == 3
    assert t.metrics["photo_pools"] == 4  # the first pool + one fresh pool after each epoch


def test_automatic_threads_measure_both_settings_and_leave_the_weights_untouched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import torch

    from pokecard.modelcard import ModelCard
    from pokecard.models import create_model
    from pokecard.train import run as run_mod
    from pokecard.train import trainer

    monkeypatch.setattr(trainer.os, "cpu_count", lambda: 2)
    net = create_model("student", embedding_dim=32, input_size=(64, 48))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    card = ModelCard(name="s", architecture="efficientnet_lite0", embedding_dim=32, input_size=(64, 48))
    images = torch.from_numpy(np.random.default_rng(0).integers(0, 255, (4, 64, 48, 3), dtype=np.uint8))
    asked: list[int] = []
    real = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda t: (asked.append(t), real(t)))
    run = type("R", (), {"device": "cpu", "cfg": type("C", (), {"channels_last": False})()})()
    run.to_input = lambda b, c: run_mod.Run.to_input(run, b, c)  # type: ignore[attr-defined]
    old = torch.get_num_threads()
    try:
        trainer.pick_threads(run, net, card, images, batch=4)
        assert asked[:2] == [2, 1] and asked[-1] in (1, 2)
        assert torch.get_num_threads() == asked[-1]
    finally:
        real(old)
    after = net.state_dict()
    for k, v in before.items():
        assert torch.equal(v, after[k]), f"{k} changed"
    assert all(p.grad is None for p in net.parameters())


def test_hard_class_sampler_spends_its_share_on_the_cards_still_confused() -> None:
    import torch

    from pokecard.train.data import HardClassSampler

    labels = np.repeat(np.arange(4), 5)
    s = HardClassSampler(labels, 0.5)
    protos = torch.eye(4, 8)
    # cards 0, 1, 3 embedded onto their own prototype; card 2 onto card 3's
    emb = torch.stack([protos[0], protos[1], protos[3], protos[3]])
    for _ in range(60):
        s.update(emb, protos, torch.tensor([0, 1, 2, 3]))
    assert s.hardest(1)[0][0] == 2
    assert s.error[2] > 0.9 and max(s.error[[0, 1, 3]]) < 0.01
    idx = s.draw(np.random.default_rng(0), 40)
    assert len(idx) == 40
    hard = labels[idx[20:]]
    assert (hard == 2).mean() > 0.9  # the hard half goes to the confused card
    uniform = labels[idx[:20]]
    assert len(set(uniform.tolist())) > 1  # the other half stays uniform
    with pytest.raises(ValueError, match="hard_class_frac"):
        HardClassSampler(labels, 1.5)
