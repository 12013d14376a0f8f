"""`pokecard collection list|export|import|corrections` on the database the app writes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from pokecard.cli import run
from pokecard.collection import CollectionDB

A = {
    "card_id": "t-1",
    "name": "Pikachu",
    "set_code": "TST",
    "set_name": "Test Set",
    "number": "1/9",
    "rarity": "Common",
}
B = {
    "card_id": "t-2",
    "name": "Eevee",
    "set_code": "TST",
    "set_name": "Test Set",
    "number": "2/9",
    "rarity": "",
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    with CollectionDB.open(r) as db:
        s = db.record_scan({"file": "a.jpg", "status": "ok", "card": A, "score": 9.0}, "a" * 64, card=A)
        db.record_scan({"file": "b.jpg", "status": "ok", "card": A, "score": 9.0}, "b" * 64, card=A)
        db.fix_scan(s["id"], B)
    return r


def test_list_json_and_table(root: Path, capsys) -> None:  # noqa: ANN001
    assert run(["collection", "list", "--root", str(root), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert sorted((i["card_id"], i["quantity"]) for i in doc["items"]) == [("t-1", 1), ("t-2", 1)]
    assert doc["totals"] == [{"set_code": "TST", "set_name": "Test Set", "cards": 2, "copies": 2}]
    assert run(["collection", "list", "--root", str(root)]) == 0
    assert "Eevee" in capsys.readouterr().out


def test_export_import_roundtrip(root: Path, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    out = tmp_path / "c.csv"
    assert run(["collection", "export", "--root", str(root), "--out", str(out)]) == 0
    other = tmp_path / "other"
    for _ in range(2):
        assert run(["collection", "import", str(out), "--root", str(other), "--json"]) == 0
    capsys.readouterr()
    assert run(["collection", "export", "--root", str(other)]) == 0
    assert capsys.readouterr().out == out.read_text()
    assert run(["collection", "export", "--root", str(root), "--format", "collectr"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["Product Name"] for r in rows} == {"Pikachu", "Eevee"} and {r["Category"] for r in rows} == {
        "Pokemon"
    }


def test_corrections_json(root: Path, capsys) -> None:  # noqa: ANN001
    assert run(["collection", "corrections", "--root", str(root), "--json"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(r["sha256"], r["recognized"], r["corrected"], r["file"]) for r in rows] == [
        ("a" * 64, "t-1", "t-2", "a.jpg")
    ]


def test_bad_input_is_one_line(root: Path, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    bad = tmp_path / "bad.csv"
    bad.write_text("card_id,name,quantity\nt-1,x,-3\n")
    assert run(["collection", "import", str(bad), "--root", str(root)]) == 1
    err = capsys.readouterr().err
    assert "bad.csv line 2" in err and "negative" in err and "Traceback" not in err
    assert run(["collection", "export", "--root", str(root), "--format", "nope"]) == 1
    assert "unknown export format" in capsys.readouterr().err
    assert run(["collection", "import", str(tmp_path / "missing.csv"), "--root", str(root)]) == 1
    assert "missing.csv: cannot read" in capsys.readouterr().err
