"""The name bar check: a card whose art twin (same art, another name) is in the DB but which is
not in it itself is answered unknown, because the photo's name bar is not the twin's."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from cardlib import photo_of

from pokecard import namebar
from pokecard.card import CANONICAL_HW

TWIN, ABSENT = "syn-025", "syn-037"  # plan(40, seed 3): the one pair that shares its art under two names


@pytest.fixture(scope="module")
def twin_root(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """A 40-card catalogue whose DB leaves out ABSENT (its art twin TWIN stays in)."""
    from pokecard.catalog import Catalog, build_catalog, synth_catalog
    from pokecard.catalog.build import load_processed
    from pokecard.reference.build import build_reference

    cat = synth_catalog(40, tmp_path_factory.mktemp("twins"), seed=3, workers=1)
    variants = json.loads((Path(cat.root) / "metadata.json").read_text())["generator"]["variants"]
    assert variants[ABSENT]["art"] == variants[TWIN]["art"], "the generator no longer makes them twins"
    root = tmp_path_factory.mktemp("twin-root")
    build_catalog(cat, root)
    full = load_processed(root)
    sub = Catalog(full.name, full.root, [c for c in full.cards if c.card_id != ABSENT])
    build_reference(root, None, catalog=sub, progress=False, calibrate=False)
    return root, full


def test_the_db_stores_each_cards_name_bar(twin_root: tuple[Path, object]) -> None:
    from pokecard.recognize import Recognizer

    root, full = twin_root
    rec = Recognizer(root, threads=1)
    strips = rec.db.keypoints.name_strips
    y0, y1, x0, x1 = namebar.box()
    assert strips is not None and strips.shape == (39, y1 - y0, x1 - x0)
    by_id = {c.card_id: c for c in full.cards}
    row = rec.db.card_ids.index(TWIN)
    assert np.array_equal(strips[row], namebar.strip_of(full.load_image(by_id[TWIN])))


def test_a_card_absent_from_the_db_is_not_named_after_its_art_twin(twin_root: tuple[Path, object]) -> None:
    from pokecard.recognize import Recognizer

    root, full = twin_root
    idx = {c.card_id: i for i, c in enumerate(full.cards)}
    rec = Recognizer(root, threads=1)
    twin_row = rec.db.card_ids.index(TWIN)
    bar = 0.85
    checked = 0
    for seed in range(4):
        photo = photo_of(full, idx[ABSENT], seed)
        sc = rec.score(photo)
        if not (sc.ranked and sc.ranked[0][0] == twin_row and rec.accepts(sc)):
            continue  # the art did not carry this photo to the twin: nothing for the bar to do
        checked += 1
        assert sc.name is not None and sc.name < bar, (seed, sc.name)
        rec.thresholds["min_name"] = bar
        assert not rec.accepts(sc)
        assert rec.with_policy(name_check=False).accepts(sc)  # what --no-name-check answers
        del rec.thresholds["min_name"]
    assert checked, "no photo of the absent card reached its twin: the test checks nothing"
    # the twin itself, photographed, reads its own name and stays accepted under the bar
    rec.thresholds["min_name"] = bar
    right = [rec.score(photo_of(full, idx[TWIN], seed)) for seed in range(3)]
    ok = [sc for sc in right if sc.ranked and sc.ranked[0][0] == twin_row and rec.accepts(sc)]
    assert len(ok) >= 2, [(sc.ranked[:1], sc.name) for sc in right]


def _placed(card: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The card laid on a grey table, turned and scaled: the photo and reference -> photo."""
    rh, rw = CANONICAL_HW
    a = np.deg2rad(12.0)
    G = np.array(
        [[1.4 * np.cos(a), -1.4 * np.sin(a), 180.0], [1.4 * np.sin(a), 1.4 * np.cos(a), 60.0], [0, 0, 1]]
    )
    photo = np.full((640, 560, 3), 90, np.uint8)
    cv2.warpPerspective(card, G, (560, 640), dst=photo, borderMode=cv2.BORDER_TRANSPARENT)
    return photo, G


def test_the_bar_reads_the_photo_through_the_homography(twin_root: tuple[Path, object]) -> None:
    _, full = twin_root
    by_id = {c.card_id: c for c in full.cards}
    own, twin = (full.load_image(by_id[k]) for k in (ABSENT, TWIN))
    photo, G = _placed(own)
    mine = namebar.name_score(photo, G, namebar.strip_of(own))
    assert mine is not None and mine > 0.95
    # a few pixels of homography error are absorbed
    off = G @ np.array([[1, 0, 3.0], [0, 1, -2.0], [0, 0, 1]])
    assert namebar.name_score(photo, off, namebar.strip_of(own)) > 0.9
    # the same art under another name does not read as this card
    other = namebar.name_score(photo, G, namebar.strip_of(twin))
    assert other is not None and other < mine - 0.1, (mine, other)
    # a bar with nothing on it has nothing to say
    assert namebar.name_score(photo, G, np.full_like(namebar.strip_of(own), 200)) is None


def test_to_photo_undoes_the_crop_warp() -> None:
    rh, rw = CANONICAL_HW
    _, G = _placed(np.zeros((rh, rw, 3), np.uint8))
    ref = np.array([[0, 0], [rw, 0], [rw, rh], [0, rh]], np.float32).reshape(-1, 1, 2)
    corners = cv2.perspectiveTransform(ref, G).reshape(-1, 2)  # the detector's quad of the card
    # the crop is the card rectified, so its verified homography is about the identity; a
    # slight one here so that the composition, not only the crop warp, is checked
    H = np.array([[1.02, 0.01, 2.0], [0.0, 0.98, -1.5], [0, 0, 1]])
    got = namebar.to_photo(corners, (rh, rw), H)
    pts = np.array([[10, 20], [200, 30], [120, 300]], np.float32).reshape(-1, 1, 2)
    want = cv2.perspectiveTransform(cv2.perspectiveTransform(pts, H), G)
    assert np.allclose(cv2.perspectiveTransform(pts, got), want, atol=1e-3)


def test_the_cli_answers_unknown_unless_told_not_to_check_names(
    twin_root: tuple[Path, object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    from cardlib import write_jpeg

    from pokecard import layout
    from pokecard.cli import run
    from pokecard.recognize import Recognizer
    from pokecard.store import open_store

    src, full = twin_root
    root = tmp_path / "root"
    shutil.copytree(src, root)
    st = open_store(root)
    doc = st.get_json(layout.REFERENCE_MANIFEST)
    doc["thresholds"]["min_name"] = 0.85  # as a calibration with twins in its sample sets it
    st.put_json(layout.REFERENCE_MANIFEST, doc, force=True)
    rec = Recognizer(root, threads=1, name_check=False)
    idx = {c.card_id: i for i, c in enumerate(full.cards)}
    photos = [tmp_path / f"absent-{s}.jpg" for s in range(4)]
    for s, f in enumerate(photos):
        write_jpeg(f, photo_of(full, idx[ABSENT], s))
    named = [f for f in photos if rec.recognize_file(f).card_id == TWIN]
    assert named, "no photo of the absent card reached its twin: the test checks nothing"

    def answers(*extra: str) -> list[tuple[str, str | None]]:
        assert run(["recognize", *map(str, named), "--root", str(root), "--json", *extra]) == 0
        out = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
        return [(r["status"], (r.get("card") or {}).get("card_id")) for r in out]

    assert answers() == [("unknown", None)] * len(named)
    assert answers("--no-name-check") == [("ok", TWIN)] * len(named)
