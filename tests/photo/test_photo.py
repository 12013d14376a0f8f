"""Photo simulator: determinism, corner ground truth, every effect, crops, seeds, write + CLI."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pokecard.card import CANONICAL_H, CANONICAL_W
from pokecard.catalog import Catalog, synth_catalog
from pokecard.cli import run
from pokecard.photo import (
    EFFECTS,
    PhotoConfig,
    eval_seed,
    is_eval_seed,
    simulate_crop,
    simulate_crop_with_corners,
    simulate_scene,
    train_seed,
    write_photos,
)

SMALL = (240, 320)  # small photos keep the suite fast; geometry is size-independent


@pytest.fixture(scope="module")
def cat(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return synth_catalog(4, tmp_path_factory.mktemp("cards"), seed=11)


@pytest.fixture(scope="module")
def card(cat: Catalog) -> np.ndarray:
    return cat.load_image(cat.cards[0])


def _rectify(photo: np.ndarray, corners: np.ndarray) -> np.ndarray:
    # independent of pokecard.photo.rectify on purpose: the test checks the labels, not our warp
    dst = np.array([[0, 0], [CANONICAL_W, 0], [CANONICAL_W, CANONICAL_H], [0, CANONICAL_H]], np.float32)
    M = cv2.getPerspectiveTransform(corners.astype(np.float32), dst)
    return cv2.warpPerspective(photo, M, (CANONICAL_W, CANONICAL_H))


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    # inner 90%: rounded corners and the edge pixels are not the card's content
    m = (slice(18, -18), slice(13, -13))
    x = a[m].astype(np.float64).ravel()
    y = b[m].astype(np.float64).ravel()
    return float(np.corrcoef(x, y)[0, 1])


def _canon(card: np.ndarray) -> np.ndarray:
    return cv2.resize(card, (CANONICAL_W, CANONICAL_H), interpolation=cv2.INTER_AREA)


def test_scene_is_deterministic_and_valid(card: np.ndarray) -> None:
    a, ca = simulate_scene(card, 123, PhotoConfig.hard(), size=SMALL)
    b, cb = simulate_scene(card, 123, PhotoConfig.hard(), size=SMALL)
    c, _ = simulate_scene(card, 124, PhotoConfig.hard(), size=SMALL)
    assert a.dtype == np.uint8 and a.shape == (*SMALL, 3)
    assert ca.dtype == np.float32 and ca.shape == (4, 2)
    assert np.array_equal(a, b) and np.array_equal(ca, cb)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_corners_locate_the_card(card: np.ndarray, seed: int) -> None:
    cfg = PhotoConfig.none().replace(perspective=True, max_tilt_deg=30.0, max_rotation_deg=180.0)
    photo, corners = simulate_scene(card, seed, cfg, size=(480, 640))
    back = _rectify(photo, corners)
    assert _corr(back, _canon(card)) > 0.9
    # and a wrong corner order (the card turned over) does not match
    assert _corr(_rectify(photo, np.roll(corners, 2, axis=0)), _canon(card)) < 0.6


def test_upside_down_card_has_its_top_left_at_the_bottom_right(card: np.ndarray) -> None:
    cfg = PhotoConfig.only("upside_down")
    photo, corners = simulate_scene(card, 5, cfg, size=(480, 640))
    tl, br = corners[0], corners[2]
    assert tl[0] > br[0] and tl[1] > br[1]
    assert _corr(_rectify(photo, corners), _canon(card)) > 0.9


@pytest.mark.parametrize("effect", sorted(set(EFFECTS) - {"crop_jitter", "crop_rotate180"}))
def test_every_scene_effect_changes_the_photo(card: np.ndarray, cat: Catalog, effect: str) -> None:
    others = [cat.load_image(c) for c in cat.cards[1:]]
    base, bc = simulate_scene(card, 7, PhotoConfig.none(), size=SMALL, distractors=others)
    img, ic = simulate_scene(card, 7, PhotoConfig.only(effect), size=SMALL, distractors=others)
    assert img.dtype == np.uint8 and img.shape == base.shape
    changed = (np.abs(img.astype(int) - base.astype(int)).max(axis=2) > 6).mean()
    assert changed > 0.01, f"{effect} changed only {changed:.2%} of the photo"
    if effect not in ("perspective", "rotation", "upside_down"):
        assert np.allclose(ic, bc), f"{effect} must not move the card"


@pytest.mark.parametrize("effect", ["crop_jitter", "crop_rotate180", "glare", "noise", "lowres"])
def test_crop_effects_change_the_crop(card: np.ndarray, effect: str) -> None:
    base = simulate_crop(card, 9, PhotoConfig.none())
    img = simulate_crop(card, 9, PhotoConfig.only(effect))
    assert img.shape == (CANONICAL_H, CANONICAL_W, 3) and img.dtype == np.uint8
    assert (np.abs(img.astype(int) - base.astype(int)).max(axis=2) > 6).mean() > 0.01


def test_clean_crop_is_the_card(card: np.ndarray) -> None:
    crop, corners, flipped = simulate_crop_with_corners(card, 4, PhotoConfig.none())
    assert not flipped
    assert _corr(crop, _canon(card)) > 0.9
    exact = np.array([[0, 0], [CANONICAL_W, 0], [CANONICAL_W, CANONICAL_H], [0, CANONICAL_H]], np.float32)
    assert np.abs(corners - exact).max() < 1.0
    flipped_crop, _, was = simulate_crop_with_corners(card, 4, PhotoConfig.only("crop_rotate180"))
    assert was
    # turned back it is the card (up to the half-pixel shift of flipping a pixel grid) ...
    assert _corr(flipped_crop[::-1, ::-1], _canon(card)) > 0.85
    # ... and as delivered it is not
    assert _corr(flipped_crop, _canon(card)) < 0.6


def test_crops_are_deterministic(card: np.ndarray) -> None:
    cfg = PhotoConfig.train()
    assert np.array_equal(simulate_crop(card, 77, cfg), simulate_crop(card, 77, cfg))
    assert not np.array_equal(simulate_crop(card, 77, cfg), simulate_crop(card, 78, cfg))


def test_seed_ranges_are_disjoint() -> None:
    train = {train_seed(i, k) for i in (0, 1, 5, 2**30 - 1) for k in (0, 1, 2**32 - 1)}
    ev = {eval_seed(i, k) for i in (0, 1, 5, 2**30 - 1) for k in (0, 1, 2**32 - 1)}
    assert not train & ev
    assert all(is_eval_seed(s) for s in ev) and not any(is_eval_seed(s) for s in train)
    assert max(train) < min(ev)
    with pytest.raises(ValueError):
        train_seed(0, 2**32)


def test_bad_card_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="uint8"):
        simulate_scene(np.zeros((88, 63, 3), np.float32), 0)
    with pytest.raises(ValueError, match="seed"):
        simulate_crop(np.zeros((88, 63, 3), np.uint8), -1)


def test_write_photos_labels_match_the_images(cat: Catalog, tmp_path: Path) -> None:
    labels_path = write_photos(
        cat,
        2,
        tmp_path / "p",
        seed=0,
        config=PhotoConfig.none().replace(perspective=True, max_tilt_deg=25.0, max_rotation_deg=40.0),
        size=(360, 480),
        workers=1,
    )
    labels = json.loads(labels_path.read_text())
    assert len(labels) == 2 * len(cat.cards)
    by_id = cat.by_id()
    for fname, lab in labels.items():
        assert is_eval_seed(lab["seed"])
        img = cv2.cvtColor(cv2.imread(str(tmp_path / "p" / fname)), cv2.COLOR_BGR2RGB)
        src = _canon(cat.load_image(by_id[lab["card_id"]]))
        assert _corr(_rectify(img, np.array(lab["corners"], np.float32)), src) > 0.85
    again = write_photos(
        cat,
        2,
        tmp_path / "q",
        seed=0,
        config=PhotoConfig.none().replace(perspective=True, max_tilt_deg=25.0, max_rotation_deg=40.0),
        size=(360, 480),
        workers=1,
    )
    assert json.loads(again.read_text()) == labels
    other = json.loads(write_photos(cat, 1, tmp_path / "r", seed=1, size=SMALL, workers=1).read_text())
    assert not {v["seed"] for v in other.values()} & {v["seed"] for v in labels.values()}


def test_cli_photos(cat: Catalog, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = run(
        [
            "photos",
            "--catalog",
            str(cat.root),
            "--per-card",
            "1",
            "--out",
            str(tmp_path / "o"),
            "--seed",
            "2",
            "--kind",
            "crop",
            "--preset",
            "hard",
            "--workers",
            "1",
            "--json",
        ]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    labels = json.loads(Path(out["labels"]).read_text())
    assert len(labels) == len(cat.cards)
    img = cv2.imread(str(tmp_path / "o" / next(iter(labels))))
    assert img.shape == (CANONICAL_H, CANONICAL_W, 3)
    assert run(["photos", "--catalog", str(cat.root), "--out", str(tmp_path / "x"), "--preset", "nope"]) != 0
    assert "preset" in capsys.readouterr().err


def test_rectify_and_contact_sheet(cat: Catalog, card: np.ndarray, tmp_path: Path) -> None:
    from pokecard.photo import rectify
    from pokecard.photo.sheet import contact_sheet

    photo, corners = simulate_scene(card, 3, PhotoConfig.only("perspective"), size=(480, 640))
    assert rectify(photo, corners).shape == (CANONICAL_H, CANONICAL_W, 3)
    assert _corr(rectify(photo, corners), _canon(card)) > 0.9
    path = contact_sheet([cat], tmp_path / "sheet.png", scenes_per_row=2, crops_per_row=4)
    img = cv2.imread(str(path))
    assert img is not None and img.shape[1] == 2 * 224 and img.shape[0] > 2 * 168


@given(
    i=st.integers(0, 2**30 - 1),
    k=st.integers(0, 2**32 - 1),
    j=st.integers(0, 2**30 - 1),
    m=st.integers(0, 2**32 - 1),
)
def test_train_and_eval_seeds_never_meet(i: int, k: int, j: int, m: int) -> None:
    assert train_seed(i, k) != eval_seed(j, m)
    assert not is_eval_seed(train_seed(i, k)) and is_eval_seed(eval_seed(j, m))
    # and each is one-to-one
    assert (train_seed(i, k) == train_seed(j, m)) == ((i, k) == (j, m))


def test_real_scan_corners() -> None:
    real = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "catalog" / "temporal-forces"
    if not (real / "metadata.json").is_file():
        pytest.skip(f"shared data not present: {real}")
    from pokecard.catalog import load_catalog

    cat = load_catalog(real)
    scan = cat.load_image(cat.cards[10])
    cfg = PhotoConfig.none().replace(perspective=True, max_tilt_deg=35.0, upside_down_p=1.0)
    photo, corners = simulate_scene(scan, 21, cfg, size=(480, 640))
    assert _corr(_rectify(photo, corners), _canon(scan)) > 0.9


def test_cli_photos_into_the_root(cat: Catalog, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pokecard import layout
    from pokecard.store import LocalStore

    root = tmp_path / "root"
    assert run(["catalog", "build", "--source", str(cat.root), "--root", str(root), "--json"]) == 0
    capsys.readouterr()
    rc = run(["photos", "--root", str(root), "--per-card", "1", "--kind", "crop", "--workers", "1", "--json"])
    assert rc == 0
    st = LocalStore(root)
    key = layout.eval_photos_dir("eval-crop-seed0")
    labels = st.get_json(f"{key}/labels.json")  # recorded in the manifest: verified on read
    assert sorted(v["card_id"] for v in labels.values()) == sorted(c.card_id for c in cat.cards)
    assert all(is_eval_seed(v["seed"]) for v in labels.values())
    assert run(["photos", "--root", str(root), "--split", "train"]) != 0
    assert "--out" in capsys.readouterr().err
