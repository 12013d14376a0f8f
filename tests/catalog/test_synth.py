"""The demo generator at scale: pinned output, parallel drawing, near-duplicate rates."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest

from pokecard.catalog import synth as S

# Digests of the plan (every card's identity) and of rendered cards, computed with the
# generator as it was before the plan was made linear (commit "tests: pin the demo
# generator's output"). The same seed must keep giving the same catalogue: an intended
# change of the generator's output changes these on purpose, and says so in its commit.
PLAN_SHA256 = {
    (1, 0): "178dc4d7402e44ff8b9d5c0108a881721f8ae5c1ce338714292cfd4adce2a431",
    (2, 0): "fe24517b94a53f209499d4535a6b9e937b10dfc4ebcf1acc6766a7fa083f6971",
    (300, 0): "fdcb01fbf26a519b3364ee4356d615999994134f61e12836802e4ed20cebc57c",
    (300, 1): "1bab8f954bf15a2a93e757181f5f958200b8103816473f4ed8179eb1fb010868",
    (2000, 42): "c398f9a0aa37b7e6dfbe3b9d48160b10ec0a2ea36369c9e6594b780a50ac4e3d",
}
# plan(40, seed 0): card index -> sha256 of its RGB pixels (one card of each kind)
PIXELS_SHA256 = {
    0: "a3a4771e0e954d62927461f89ca45db78809c5d9cd8c8dc3e1c20a7d719047d9",  # pokemon
    5: "7f9b20fd43b1fa2e56668ca06f63fec264f2f0d5fe477933fffb367ecf066072",  # trainer
    27: "1af500cb3f5de3c92e7bd81c616949d1bf30bf3499e88d4dd33f10ed751e2ccf",  # fullart
}
# synth_catalog(12, seed 0): sha256 of the concatenated sha256 hex digests of images/*.jpg,
# in file-name order (the JPEG bytes; depends on the pinned opencv build, constraints.txt)
JPEGS_12_SHA256 = "d2eb7b3dcdaacfdee86f1a6020f5f184ecdb3b6c805848699b3c5b5ee1f71526"


def _plan_digest(specs: list) -> str:
    return hashlib.sha256(json.dumps([dataclasses.astuple(s) for s in specs]).encode()).hexdigest()


def _jpeg_digests(root: Path) -> dict[str, str]:
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted((root / "images").iterdir())}


@pytest.mark.parametrize(("n", "seed"), sorted(PLAN_SHA256))
def test_plan_is_unchanged(n: int, seed: int) -> None:
    assert _plan_digest(S.plan(n, seed)) == PLAN_SHA256[(n, seed)]


def test_plan_prefix_is_stable_apart_from_the_total() -> None:
    """Card i depends only on the cards before it: a longer plan starts like a shorter one
    (only the "/total" of the collector number differs)."""
    short, long = S.plan(50, 5), S.plan(120, 5)
    assert [dataclasses.replace(s, number="") for s in short] == [
        dataclasses.replace(s, number="") for s in long[:50]
    ]


def test_rendered_cards_are_unchanged() -> None:
    specs = S.plan(40, 0)
    assert {specs[i].kind for i in PIXELS_SHA256} == {"pokemon", "trainer", "fullart"}
    for i, want in PIXELS_SHA256.items():
        assert hashlib.sha256(S.render_card(specs[i], 0).tobytes()).hexdigest() == want, i


def test_jpeg_bytes_are_unchanged(tmp_path: Path) -> None:
    S.synth_catalog(12, tmp_path, seed=0)
    digests = _jpeg_digests(tmp_path)
    assert len(digests) == 12
    assert hashlib.sha256("".join(digests.values()).encode()).hexdigest() == JPEGS_12_SHA256


@pytest.fixture(scope="module")
def serial_and_parallel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    one, two = tmp_path_factory.mktemp("workers1"), tmp_path_factory.mktemp("workers2")
    S.synth_catalog(24, one, seed=2, workers=1)
    S.synth_catalog(24, two, seed=2, workers=2)
    return one, two


def test_workers_give_the_same_bytes(serial_and_parallel: tuple[Path, Path]) -> None:
    one, two = serial_and_parallel
    assert len(_jpeg_digests(one)) == 24
    assert _jpeg_digests(two) == _jpeg_digests(one)
    assert (two / "metadata.json").read_bytes() == (one / "metadata.json").read_bytes()
    assert not [p for p in (two / "images").iterdir() if p.suffix == ".tmp"]  # no atomic-write leftovers


def test_workers_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(S.CatalogError, match="--workers"):
        S.synth_catalog(3, tmp_path, workers=0)
    assert S.default_workers() >= 1


def _shared(keys: list) -> tuple[int, int]:
    counts: dict = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    return sum(1 for c in counts.values() if c > 1), sum(c for c in counts.values() if c > 1)


def test_near_duplicate_rates_match_the_plan_and_the_metadata(serial_and_parallel: tuple[Path, Path]) -> None:
    doc = json.loads((serial_and_parallel[0] / "metadata.json").read_text())
    dups = doc["generator"]["near_duplicates"]
    specs = S.plan(24, 2)
    # against the plan, counted naively
    for key, field in (("shared_art", "art_seed"), ("shared_name", "name")):
        groups, cards = _shared([getattr(s, field) for s in specs])
        assert (dups[key]["groups"], dups[key]["cards"]) == (groups, cards), key
        assert dups[key]["share"] == pytest.approx(cards / 24, abs=1e-4)
    alt = [s for s in specs if s.kind == "fullart"]
    assert dups["alternate_art"]["cards"] == len(alt) == doc["generator"]["kinds"].get("fullart", 0)
    assert dups["alternate_art"]["groups"] == len({s.name for s in alt})
    # against the rest of the metadata: card names, and the variants' art (first card with it)
    variants = doc["generator"]["variants"]
    assert dups["shared_name"]["cards"] == _shared([c["name"] for c in doc["cards"]])[1]
    assert dups["shared_art"]["cards"] == _shared([v["art"] for v in variants.values()])[1]
    assert dups["shared_art"]["cards"] > 0 and dups["shared_name"]["cards"] > 0


def test_near_duplicates_of_a_hand_made_plan() -> None:
    base = S.plan(3, 0)[0]
    reprint = dataclasses.replace(base, card_id="r", name="Other")
    alt = dataclasses.replace(base, card_id="a", kind="fullart", art_seed=base.art_seed + 1)
    solo = dataclasses.replace(base, card_id="s", name="Solo", art_seed=base.art_seed + 2)
    dups = S.near_duplicates([base, reprint, alt, solo])
    assert dups["shared_art"] == {"groups": 1, "cards": 2, "share": 0.5}  # base + reprint
    assert dups["shared_name"] == {"groups": 1, "cards": 2, "share": 0.5}  # base + alternate art
    assert dups["alternate_art"] == {"groups": 1, "cards": 1, "share": 0.25}


REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "catalog" / "temporal-forces"


@pytest.mark.skipif(not (REAL / "metadata.json").is_file(), reason="the real catalogue is not checked out")
def test_production_scale_shares_names_at_least_as_often_as_the_real_set() -> None:
    """The benchmark catalogue (17,592 cards) must be at least as hard as the real set on
    same-name cards (docs/benchmarks.md). Plan only: no drawing."""
    real = S.shared_keys([c["name"] for c in json.loads((REAL / "metadata.json").read_text())["cards"]])
    assert real["cards"] == 100 and real["share"] == pytest.approx(0.4587, abs=1e-4)
    generated = S.near_duplicates(S.plan(17592, 0))["shared_name"]
    assert generated["share"] >= real["share"]


def test_cli_synth_workers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pokecard.cli import run

    out = tmp_path / "syn"
    assert run(["catalog", "synth", "--cards", "3", "--out", str(out), "--workers", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cards"] == 3
    assert "near_duplicates" in json.loads((out / "metadata.json").read_text())["generator"]
    assert run(["catalog", "synth", "--cards", "3", "--out", str(tmp_path / "x"), "--workers", "0"]) != 0
    assert "--workers" in capsys.readouterr().err
