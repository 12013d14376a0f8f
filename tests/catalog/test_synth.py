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
    assert _plan_digest(S._plan(n, seed)) == PLAN_SHA256[(n, seed)]


def test_plan_prefix_is_stable_apart_from_the_total() -> None:
    """Card i depends only on the cards before it: a longer plan starts like a shorter one
    (only the "/total" of the collector number differs)."""
    short, long = S._plan(50, 5), S._plan(120, 5)
    assert [dataclasses.replace(s, number="") for s in short] == [
        dataclasses.replace(s, number="") for s in long[:50]
    ]


def test_rendered_cards_are_unchanged() -> None:
    specs = S._plan(40, 0)
    assert {specs[i].kind for i in PIXELS_SHA256} == {"pokemon", "trainer", "fullart"}
    for i, want in PIXELS_SHA256.items():
        assert hashlib.sha256(S.render_card(specs[i], 0).tobytes()).hexdigest() == want, i


def test_jpeg_bytes_are_unchanged(tmp_path: Path) -> None:
    S.synth_catalog(12, tmp_path, seed=0)
    digests = _jpeg_digests(tmp_path)
    assert len(digests) == 12
    assert hashlib.sha256("".join(digests.values()).encode()).hexdigest() == JPEGS_12_SHA256
