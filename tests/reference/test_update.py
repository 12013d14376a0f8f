"""Incremental `index build`: an updated DB equals a full rebuild, and readers never see a half-written one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pokecard import layout
from pokecard.catalog import Catalog, build_catalog, synth_catalog
from pokecard.catalog.build import load_processed
from pokecard.features import FeatureConfig
from pokecard.photo import PhotoConfig, simulate_scene
from pokecard.recognize import Recognizer
from pokecard.reference import ReferenceDB
from pokecard.reference.build import build_reference

N = 36
# a sample of 16 cards at most: at 36 cards the template sample is the hashed half, as at scale
FEATURES = FeatureConfig(template_sample=16)
FILES = ("embeddings.npy", "usearch.index", "metadata.json")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cat = synth_catalog(N, tmp_path_factory.mktemp("cat"), seed=5)
    r = tmp_path_factory.mktemp("root")
    build_catalog(cat, r)
    return r


def _build(root: Path, cards: list[int], dest: Path, *, incremental: bool = True) -> dict:
    """Build the DB of ``cards`` (indices into the catalogue) in ``dest`` (a copy of ``root``)."""
    import shutil

    if not dest.exists():
        shutil.copytree(root, dest, ignore=shutil.ignore_patterns("reference"))
    cat = load_processed(dest)
    sub = Catalog(cat.name, cat.root, [cat.cards[i] for i in cards])
    man = build_reference(dest, None, catalog=sub, progress=False, calibrate=False, features=FEATURES,
                          incremental=incremental)  # fmt: skip
    return man.as_dict()


def _same_db(a: Path, b: Path) -> None:
    ra, rb = a / layout.REFERENCE, b / layout.REFERENCE
    for f in FILES:
        assert (ra / f).read_bytes() == (rb / f).read_bytes(), f
    assert json.loads((ra / "index.json").read_text()) == json.loads((rb / "index.json").read_text())
    ka, kb = np.load(ra / "keypoints.npz"), np.load(rb / "keypoints.npz")
    assert sorted(ka.files) == sorted(kb.files)
    for k in ka.files:
        assert np.array_equal(ka[k], kb[k]), k


def _answers(root: Path, cards: list[int]) -> list[tuple[str | None, float]]:
    rec = Recognizer(root)
    cat = load_processed(root)
    out = []
    for j, i in enumerate(cards):
        photo, _ = simulate_scene(cat.load_image(cat.cards[i]), 900 + j, PhotoConfig.eval())
        r = rec.recognize_array(photo)
        out.append((r.card_id, round(float(r.score), 4)))
    return out


def test_adding_and_removing_cards_equals_a_full_rebuild(root: Path, tmp_path: Path) -> None:
    base = list(range(N - 6))
    first = _build(root, base, tmp_path / "upd")
    assert first["build"]["cards_reused"] == 0 and first["build"]["cards_described"] == N - 6
    grown = _build(root, list(range(N)), tmp_path / "upd")
    assert grown["build"]["cards_reused"] == N - 6 and grown["build"]["cards_described"] == 6
    full = _build(root, list(range(N)), tmp_path / "full", incremental=False)
    assert full["build"]["cards_reused"] == 0
    _same_db(tmp_path / "upd", tmp_path / "full")
    photos = [0, 5, N - 3, N - 1]
    assert _answers(tmp_path / "upd", photos) == _answers(tmp_path / "full", photos)

    # removal, a card of the template sample among them: its flags must go with it
    kp = np.load(tmp_path / "full" / layout.REFERENCE / "keypoints.npz")
    assert 0 < kp["sample_rate"][0] < 1
    from pokecard.template import in_sample

    ids = json.loads((tmp_path / "full" / layout.REFERENCE / "index.json").read_text())["card_ids"]
    sampled = int(np.flatnonzero(in_sample(ids, float(kp["sample_rate"][0])))[0])
    kept = [i for i in range(N) if i not in (sampled, 3, 4)]
    shrunk = _build(root, kept, tmp_path / "upd")
    assert shrunk["build"]["cards_reused"] == len(kept) and shrunk["count"] == len(kept)
    _build(root, kept, tmp_path / "full2", incremental=False)
    _same_db(tmp_path / "upd", tmp_path / "full2")


def test_a_changed_card_image_is_described_again(root: Path, tmp_path: Path) -> None:
    import cv2

    _build(root, list(range(12)), tmp_path / "r")
    cat = load_processed(tmp_path / "r")
    p = cat.image_path(cat.cards[4])
    img = cv2.imread(str(p))
    cv2.imwrite(str(p), np.ascontiguousarray(img[:, ::-1]))  # another picture, same card_id
    man = _build(root, list(range(12)), tmp_path / "r")
    assert man["build"]["cards_described"] == 1 and man["build"]["cards_reused"] == 11
    _build(root, list(range(12)), tmp_path / "r2")
    cat2 = load_processed(tmp_path / "r2")
    cv2.imwrite(str(cat2.image_path(cat2.cards[4])), np.ascontiguousarray(img[:, ::-1]))
    _build(root, list(range(12)), tmp_path / "r2", incremental=False)
    _same_db(tmp_path / "r", tmp_path / "r2")


def test_a_reader_keeps_the_db_it_loaded_while_an_update_switches_it(root: Path, tmp_path: Path) -> None:
    _build(root, list(range(10)), tmp_path / "r")
    old = ReferenceDB.load(tmp_path / "r")
    before = np.array(old.embeddings)
    _build(root, list(range(14)), tmp_path / "r")
    assert len(old) == 10 and np.array_equal(np.asarray(old.embeddings), before)
    assert old.keypoints.count == 10 and old.search(before[:1], 1)[0][0, 0] == 0
    assert len(ReferenceDB.load(tmp_path / "r")) == 14
    assert sorted(p.name for p in (tmp_path / "r" / "data").iterdir()) == ["processed", "raw", "reference"]


def test_another_model_or_feature_setting_means_a_full_build(root: Path, tmp_path: Path) -> None:
    _build(root, list(range(8)), tmp_path / "r")
    cat = load_processed(tmp_path / "r")
    sub = Catalog(cat.name, cat.root, cat.cards[:8])
    man = build_reference(tmp_path / "r", None, catalog=sub, progress=False, calibrate=False,
                          features=FeatureConfig(template_sample=16, ref_features=200))  # fmt: skip
    assert man["build"]["cards_reused"] == 0


def test_a_small_update_keeps_the_calibrated_thresholds_until_the_changes_add_up(
    root: Path, tmp_path: Path
) -> None:
    """Calibration is the longest part of an update at scale: its thresholds are carried while the
    cards changed since it stay within CARRY_SHARE (5 %: 1.5 cards of 30), then it runs again."""
    import shutil

    from pokecard.reference.build import CARRY_SHARE, update_reference

    def update(cards: list[int]) -> dict:
        cat = load_processed(dest)
        sub = Catalog(cat.name, cat.root, [cat.cards[i] for i in cards])
        return update_reference(dest, catalog=sub, progress=False).as_dict()

    dest = tmp_path / "r"
    shutil.copytree(root, dest, ignore=shutil.ignore_patterns("reference"))
    cat = load_processed(dest)
    sub = Catalog(cat.name, cat.root, cat.cards[:30])
    first = build_reference(dest, None, catalog=sub, progress=False, features=FEATURES,
                            calibration_photos=6).as_dict()  # fmt: skip
    assert first["calibration"]["method"] != "default" and "calibration" in first["build"]["seconds"]
    assert 1 <= CARRY_SHARE * 30 < 2

    one = update(list(range(31)))
    assert one["thresholds"] == first["thresholds"] and "calibration" not in one["build"]["seconds"]
    carried = one["calibration"]["carried"]
    assert (carried["calibrated_cards"], carried["changed_cards"], carried["cards"]) == (30, 1, 31)
    assert one["calibration"]["photos"] == first["calibration"]["photos"]

    two = update(list(range(32)))  # 2 cards changed since the calibration: over 5 % of 30
    assert "carried" not in two["calibration"] and "calibration" in two["build"]["seconds"]
    assert two["calibration"]["method"] == first["calibration"]["method"]
