"""CSV formats: column lists, value mapping, empty IDs, and an idempotent import of our own CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from pokecard.collection import CollectionDB
from pokecard.collection.formats import (
    COLLECTR_FIELDS,
    GENERIC_FIELDS,
    TCGPLAYER_FIELDS,
    export_csv,
    import_csv,
)
from pokecard.errors import CollectionError

A = {
    "card_id": "t-1",
    "name": 'Pika, "chu"',
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
    "rarity": "Rare",
}


@pytest.fixture
def db(tmp_path: Path):
    with CollectionDB(tmp_path / "c.sqlite") as d:
        for i, card in enumerate((A, A, B)):
            d.record_scan({"file": "x", "status": "ok", "card": card, "score": 1.0}, str(i) * 64, card=card)
        b = next(i for i in d.items() if i.card_id == "t-2")
        d.update_item(b.id, b.version, finish="reverse_holo", condition="lightly_played")
        yield d


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_tcgplayer_columns_and_values(db: CollectionDB) -> None:
    text = export_csv(db.items(), "tcgplayer")
    assert text.splitlines()[0] == ",".join(TCGPLAYER_FIELDS)
    r = rows(text)
    assert [(x["Name"], x["Quantity"], x["Printing"], x["Condition"]) for x in r] == [
        ('Pika, "chu"', "2", "Normal", "Near Mint"),
        ("Eevee", "1", "Reverse Holofoil", "Lightly Played"),
    ]
    assert {x["Product ID"] for x in r} == {""} and {x["SKU"] for x in r} == {""}
    assert r[0]["Set"] == "Test Set" and r[0]["Set Code"] == "TST" and r[0]["Card Number"] == "1/9"


def test_collectr_columns_carry_the_price_date(db: CollectionDB) -> None:
    text = export_csv(db.items(), "collectr", today="2026-12-02")
    header = text.splitlines()[0].split(",")
    assert header == [h.format(date="2026-12-02") for h in COLLECTR_FIELDS]
    assert "Market Price (As of 2026-12-02)" in header
    r = rows(text)
    assert [(x["Product Name"], x["Variance"], x["Card Condition"], x["Quantity"]) for x in r] == [
        ('Pika, "chu"', "Normal", "Near Mint", "2"),
        ("Eevee", "Reverse Holofoil", "Lightly Played", "1"),
    ]
    assert r[0]["Market Price (As of 2026-12-02)"] == "" and len(r[0]["Date Added"]) == 10


def test_generic_roundtrip_is_idempotent(db: CollectionDB, tmp_path: Path) -> None:
    text = export_csv(db.items(), "generic")
    assert text.splitlines()[0] == ",".join(GENERIC_FIELDS)
    with CollectionDB(tmp_path / "other.sqlite") as other:
        for _ in range(2):
            rep = import_csv(other, text, "mine.csv")
            assert rep.lines == 2
            assert export_csv(other.items(), "generic") == text
    # importing into the source changes nothing either
    import_csv(db, text)
    assert export_csv(db.items(), "generic") == text


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("Quantity,Name\n1,x\n", "missing column"),
        ("card_id,name,quantity\nt-1,x,two\n", "line 2: quantity 'two'"),
        ("card_id,name,quantity,finish\nt-1,x,1,normal\nt-2,y,1,gold\n", "line 3: finish 'gold'"),
        ("card_id,name,quantity\n,x,1\n", "line 2: card_id is empty"),
    ],
)
def test_bad_import_names_the_line_and_writes_nothing(tmp_path: Path, body: str, match: str) -> None:
    with CollectionDB(tmp_path / "c.sqlite") as d:
        with pytest.raises(CollectionError, match=match):
            import_csv(d, body, "bad.csv")
        assert d.items() == []


def test_unknown_format_is_refused(db: CollectionDB) -> None:
    with pytest.raises(CollectionError, match="unknown export format"):
        export_csv(db.items(), "excel")
