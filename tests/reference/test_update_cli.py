"""`pokecard index update`: a new expansion and a removed card, from the command line, give the
DB (and the answers) of a full rebuild; with no DB there it says what to run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from aws.awslib import run_cli
from test_update import _answers, _same_db

N = 30


def _source(full: Path, dest: Path, keep: range) -> Path:
    """A catalogue folder holding the cards ``keep`` of ``full`` (same images)."""
    meta = json.loads((full / "metadata.json").read_text())
    meta["cards"] = [meta["cards"][i] for i in keep]
    dest.mkdir()
    shutil.copytree(full / "images", dest / "images")
    (dest / "metadata.json").write_text(json.dumps(meta))
    return dest


def _ok(*args: str) -> dict:
    code, out, err = run_cli(*args)
    assert code == 0, err
    return json.loads(out) if "--json" in args else {}


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pokecard.catalog import synth_catalog

    d = tmp_path_factory.mktemp("synth")
    synth_catalog(N, d, seed=11, workers=1)
    return d


def test_update_adds_the_new_cards_and_drops_the_removed_one_as_a_full_rebuild(
    catalogue: Path, tmp_path: Path
) -> None:
    old = _source(catalogue, tmp_path / "old", range(0, N - 4))  # before the expansion
    new = _source(catalogue, tmp_path / "new", range(1, N))  # 4 new cards, card 0 withdrawn
    upd, full = tmp_path / "upd", tmp_path / "full"
    _ok("catalog", "build", "--source", str(old), "--root", str(upd))
    _ok("index", "build", "--root", str(upd), "--mode", "training-free", "--no-calibrate")
    _ok("catalog", "build", "--source", str(new), "--root", str(upd))
    man = _ok("index", "update", "--root", str(upd), "--no-calibrate", "--json")
    b = man["build"]
    assert (b["added"], b["removed"], b["changed"]) == (4, 1, 0)
    assert b["cards_reused"] == N - 5 and b["cards_described"] == 4 and man["count"] == N - 1

    _ok("catalog", "build", "--source", str(new), "--root", str(full))
    _ok("index", "build", "--root", str(full), "--mode", "training-free", "--no-calibrate")
    _same_db(upd, full)
    photos = [0, 3, N - 3, N - 2]  # rows of the new catalogue: old cards and new ones
    assert _answers(upd, photos) == _answers(full, photos)


def test_update_without_a_db_names_the_command_to_run(catalogue: Path, tmp_path: Path) -> None:
    _ok("catalog", "build", "--source", str(catalogue), "--root", str(tmp_path / "r"))
    code, _, err = run_cli("index", "update", "--root", str(tmp_path / "r"), "--no-calibrate")
    assert code != 0
    assert "no reference DB to update" in err and "pokecard index build" in err
