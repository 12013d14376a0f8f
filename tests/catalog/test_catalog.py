"""Catalogue: formats, validation errors, incremental builds, the demo generator, the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from pokecard import layout
from pokecard.card import CANONICAL_HW
from pokecard.catalog import (
    Card,
    Catalog,
    CatalogError,
    build_catalog,
    load_catalog,
    load_processed,
    synth_catalog,
)
from pokecard.cli import run
from pokecard.store import LocalStore

REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "catalog" / "temporal-forces"


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return synth_catalog(6, tmp_path_factory.mktemp("synth"), seed=3)


def _copy(cat: Catalog, dst: Path) -> Path:
    shutil.copytree(cat.root, dst)
    return dst


def _meta(folder: Path) -> dict:
    return json.loads((folder / "metadata.json").read_text())


def _write_meta(folder: Path, doc: dict) -> None:
    (folder / "metadata.json").write_text(json.dumps(doc))


def test_synth_is_deterministic_and_loads(synth: Catalog, tmp_path: Path) -> None:
    again = synth_catalog(6, tmp_path / "again", seed=3)
    assert [c.as_dict() for c in again.cards] == [c.as_dict() for c in synth.cards]
    assert again.content_hash() == synth.content_hash()
    other = synth_catalog(6, tmp_path / "other", seed=4)
    assert other.content_hash() != synth.content_hash()
    loaded = load_catalog(synth.root)
    assert [c.card_id for c in loaded.cards] == [c.card_id for c in synth.cards]
    img = loaded.load_image(loaded.cards[0])
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert abs(img.shape[1] / img.shape[0] - 63 / 88) < 0.01


def test_synth_has_near_duplicates(tmp_path: Path) -> None:
    cat = synth_catalog(60, tmp_path / "s", seed=0)
    names = [c.name for c in cat.cards]
    assert len(set(names)) < len(names), "some cards must share a name (alternate art, same-name prints)"
    variants = _meta(cat.root)["generator"]["variants"]
    arts = [v["art"] for v in variants.values()]
    assert len(set(arts)) < len(arts), "some cards must share their art (reprints)"
    assert any(v["kind"] == "fullart" for v in variants.values())
    assert len({c.card_id for c in cat.cards}) == 60
    # same name, different art: two cards with one name whose images differ clearly
    by_name: dict[str, list[Card]] = {}
    for c in cat.cards:
        by_name.setdefault(c.name, []).append(c)
    a, b = next(v for v in by_name.values() if len(v) > 1)[:2]
    assert np.abs(cat.load_image(a).astype(int) - cat.load_image(b).astype(int)).mean() > 5


def test_build_writes_layout_and_is_incremental(synth: Catalog, tmp_path: Path) -> None:
    root = tmp_path / "root"
    rep = build_catalog(synth.root, root)
    assert sorted(rep.processed) == sorted(c.card_id for c in synth.cards) and not rep.unchanged
    st = LocalStore(root)
    assert st.exists(layout.CATALOG_METADATA) and st.exists(layout.PROCESSED_INDEX)
    raw = load_catalog(st.path(layout.RAW_IMAGES))
    assert [c.card_id for c in raw.cards] == [c.card_id for c in synth.cards]
    # the raw copy is byte-identical to the source scan
    assert raw.image_path(raw.cards[0]).read_bytes() == synth.image_path(synth.cards[0]).read_bytes()
    proc = load_processed(root)
    assert len(proc.cards) == len(synth.cards)
    crop = proc.load_image(proc.cards[0])
    assert crop.shape == (*CANONICAL_HW, 3)
    src = cv2.resize(synth.load_image(synth.cards[0]), CANONICAL_HW[::-1], interpolation=cv2.INTER_AREA)
    assert np.abs(crop.astype(int) - src.astype(int)).mean() < 4

    again = build_catalog(synth.root, root)
    assert again.processed == [] and len(again.unchanged) == len(synth.cards)
    assert again.content_hash == rep.content_hash

    # add a card: only it is processed
    src_dir = _copy(synth, tmp_path / "grown")
    more = synth_catalog(7, tmp_path / "seven", seed=3)
    shutil.copy(more.image_path(more.cards[6]), src_dir / more.cards[6].image)
    doc = _meta(src_dir)
    doc["cards"].append(more.cards[6].as_dict())
    _write_meta(src_dir, doc)
    third = build_catalog(src_dir, root)
    assert third.processed == [more.cards[6].card_id]
    assert third.content_hash != rep.content_hash


def test_changed_image_is_reprocessed(synth: Catalog, tmp_path: Path) -> None:
    src = _copy(synth, tmp_path / "src")
    build_catalog(src, tmp_path / "root")
    first = synth.cards[0]
    img = cv2.imread(str(src / first.image))
    cv2.imwrite(str(src / first.image), 255 - img)
    rep = build_catalog(src, tmp_path / "root")
    assert rep.processed == [first.card_id]


def _bad_case(synth: Catalog, tmp_path: Path, case: str) -> Path:
    src = _copy(synth, tmp_path / "src")
    doc = _meta(src)
    cards = doc["cards"]
    if case == "duplicate":
        cards[1]["card_id"] = cards[0]["card_id"]
    elif case == "missing":
        (src / cards[2]["image"]).unlink()
    elif case == "unreadable":
        (src / cards[2]["image"]).write_bytes(b"not an image at all")
    elif case == "truncated":
        data = (src / cards[2]["image"]).read_bytes()
        (src / cards[2]["image"]).write_bytes(data[: len(data) // 2])
    elif case == "shape":
        cv2.imwrite(str(src / cards[2]["image"]), np.zeros((300, 300, 3), np.uint8))
    _write_meta(src, doc)
    return src


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("duplicate", "duplicate card id"),
        ("missing", "missing"),
        ("unreadable", "unreadable"),
        ("truncated", "truncated"),
        ("shape", "not card-shaped"),
    ],
)
def test_bad_cards_stop_the_build_and_write_nothing(
    synth: Catalog, tmp_path: Path, case: str, words: str
) -> None:
    src = _bad_case(synth, tmp_path, case)
    root = tmp_path / "root"
    with pytest.raises(CatalogError) as err:
        build_catalog(src, root)
    msg = str(err.value)
    assert words in msg
    if case != "duplicate":
        assert synth.cards[2].image.split("/")[-1] in msg  # names the file
    assert not root.exists() or not any(root.rglob("*"))
    rep = build_catalog(src, root, skip_bad=True)
    assert len(rep.skipped) == 1 and words in rep.skipped[0].problem
    assert rep.cards == len(synth.cards) - 1
    assert len(load_processed(root).cards) == len(synth.cards) - 1


def test_empty_catalogue_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    _write_meta(tmp_path / "empty", {"catalog": "x", "cards": []})
    with pytest.raises(CatalogError, match="empty"):
        build_catalog(tmp_path / "empty", tmp_path / "root")
    with pytest.raises(CatalogError, match="not a catalogue"):
        load_catalog(tmp_path)
    with pytest.raises(CatalogError, match="does not exist"):
        load_catalog(tmp_path / "nope")


def test_missing_field_is_named(synth: Catalog, tmp_path: Path) -> None:
    src = _copy(synth, tmp_path / "src")
    doc = _meta(src)
    del doc["cards"][1]["name"]
    _write_meta(src, doc)
    with pytest.raises(CatalogError, match=rf"{doc['cards'][1]['card_id']} is missing name"):
        load_catalog(src)


def test_pokemon_tcg_data_format(synth: Catalog, tmp_path: Path) -> None:
    root = tmp_path / "tcg"
    (root / "cards" / "en").mkdir(parents=True)
    (root / "sets").mkdir()
    (root / "images" / "sv9").mkdir(parents=True)
    cards = []
    for i, c in enumerate(synth.cards[:3], start=1):
        cards.append(
            {
                "id": f"sv9-{i}",
                "name": c.name,
                "number": str(i),
                "rarity": "Common",
                "images": {
                    "small": f"https://images.pokemontcg.io/sv9/{i}.png",
                    "large": f"https://images.pokemontcg.io/sv9/{i}_hires.png",
                },
            }
        )
        shutil.copy(synth.image_path(c), root / "images" / "sv9" / f"{i}_hires.png")
    (root / "cards" / "en" / "sv9.json").write_text(json.dumps(cards))
    (root / "sets" / "en.json").write_text(
        json.dumps([{"id": "sv9", "name": "Journey Together", "ptcgoCode": "JTG"}])
    )
    cat = load_catalog(root)
    assert [c.card_id for c in cat.cards] == ["sv9-1", "sv9-2", "sv9-3"]
    assert cat.cards[0].set_code == "JTG" and cat.cards[0].set_name == "Journey Together"
    assert cat.cards[0].rarity == "Common"
    assert cat.load_image(cat.cards[1]).shape[2] == 3
    rep = build_catalog(root, tmp_path / "out")
    assert len(rep.processed) == 3


def test_real_catalogue_loads() -> None:
    if not (REAL / "metadata.json").is_file():
        pytest.skip(f"shared data not present: {REAL}")
    cat = load_catalog(REAL)
    assert len(cat.cards) == 218
    assert cat.cards[0].card_id == "tef-001" and cat.cards[0].set_code == "TEF"
    assert len(cat.by_id()) == 218


def test_cli_synth_build_and_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "syn"
    assert run(["catalog", "synth", "--cards", "4", "--out", str(out), "--seed", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cards"] == 4
    assert run(["catalog", "build", "--source", str(out), "--root", str(tmp_path / "r"), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["processed"]) == 4
    assert run(["catalog", "build", "--source", str(out), "--root", str(tmp_path / "r"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["processed"] == []
    (out / "images" / "syn-002.jpg").unlink()
    rc = run(["catalog", "build", "--source", str(out), "--root", str(tmp_path / "r2")])
    err = capsys.readouterr().err
    assert rc != 0 and "syn-002.jpg" in err and "missing" in err and "Traceback" not in err


@pytest.mark.integration
def test_build_into_s3_and_load_processed(synth: Catalog, s3_bucket: str, tmp_path: Path) -> None:
    """The same build writes an S3 root (moto server over HTTP); readers pull verified crops."""
    import os

    from pokecard.store import S3Store

    st = S3Store(
        s3_bucket,
        "project/pokemon-card-recognition/",
        region="us-east-2",
        endpoint_url=os.environ["AWS_ENDPOINT_URL"],
    )
    rep = build_catalog(synth.root, st)
    assert len(rep.processed) == len(synth.cards)
    assert st.exists(layout.PROCESSED_INDEX) and st.exists(layout.CATALOG_METADATA)
    assert build_catalog(synth.root, st).processed == []
    cat = load_processed(st, cache_dir=tmp_path / "cache")
    assert [c.card_id for c in cat.cards] == [c.card_id for c in synth.cards]
    assert cat.load_image(cat.cards[0]).shape == (*CANONICAL_HW, 3)


def test_tcg_missing_image_names_where_it_was_expected(synth: Catalog, tmp_path: Path) -> None:
    root = tmp_path / "tcg"
    (root / "cards" / "en").mkdir(parents=True)
    (root / "images").mkdir()
    card = {
        "id": "sv9-7",
        "name": "X",
        "number": "7",
        "images": {"large": "https://images.pokemontcg.io/sv9/7_hires.png"},
    }
    (root / "cards" / "en" / "sv9.json").write_text(json.dumps([card]))
    with pytest.raises(CatalogError, match=r"sv9/7_hires\.png.*missing"):
        build_catalog(root, tmp_path / "out")
