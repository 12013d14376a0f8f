"""The collection database: scans add copies, fixes move them and are recorded, edits are
versioned, deletes undo, the schema migrates, and rows survive reopening."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from pokecard.collection import CollectionDB
from pokecard.collection.db import SCHEMA_VERSION, MissingRow
from pokecard.errors import CollectionError, ConflictError

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
    "rarity": "Rare",
}
C = {"card_id": "u-1", "name": "Mew", "set_code": "UUU", "set_name": "Other", "number": "1", "rarity": ""}


def ok(card: dict, file: str = "p.jpg") -> dict:
    return {"file": file, "status": "ok", "card": {"card_id": card["card_id"]}, "score": 40.0, "top_k": []}


@pytest.fixture
def db(tmp_path: Path):
    with CollectionDB(tmp_path / "c.sqlite") as d:
        yield d


def test_schema_is_migrated_once_in_wal(tmp_path: Path) -> None:
    p = tmp_path / "c.sqlite"
    CollectionDB(p).close()
    CollectionDB(p).close()  # reopening runs no migration twice
    con = sqlite3.connect(p)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.commit()
    con.close()
    with pytest.raises(CollectionError, match="newer than this pokecard"):
        CollectionDB(p)


def test_not_a_database_is_one_clear_error(tmp_path: Path) -> None:
    p = tmp_path / "c.sqlite"
    p.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CollectionError, match="not a usable collection database"):
        CollectionDB(p)


def test_scans_group_by_card_and_same_photo_counts_once(db: CollectionDB) -> None:
    s1 = db.record_scan(ok(A), "a" * 64, card=A)
    db.record_scan(ok(A), "b" * 64, card=A)
    dup = db.record_scan(ok(A), "a" * 64, card=A)
    unk = db.record_scan({"file": "u.jpg", "status": "unknown", "card": None, "score": 3.0}, "c" * 64)
    assert dup["duplicate"] and dup["id"] == s1["id"]
    assert unk["item_id"] is None
    items = db.items()
    assert [(i.card_id, i.quantity) for i in items] == [("t-1", 2)]
    assert db.totals() == [{"set_code": "TST", "set_name": "Test Set", "cards": 1, "copies": 2}]


def test_fix_moves_the_copy_and_records_the_correction(db: CollectionDB) -> None:
    s = db.record_scan(ok(A, "wrong.jpg"), "d" * 64, card=A)
    u = db.record_scan({"file": "u.jpg", "status": "unknown", "card": None, "score": 3.5}, "e" * 64)
    db.fix_scan(s["id"], B)
    db.fix_scan(u["id"], C)
    db.fix_scan(s["id"], C)  # a second fix keeps what the recognizer first said
    assert {(i.card_id, i.quantity) for i in db.items()} == {("u-1", 2)}
    cor = db.corrections()
    assert [(c["sha256"][0], c["recognized"], c["recognized_status"], c["corrected"]) for c in cor] == [
        ("d", "t-1", "ok", "t-2"),
        ("e", None, "unknown", "u-1"),
        ("d", "t-1", "ok", "u-1"),
    ]
    assert cor[0]["file"] == "wrong.jpg"
    with pytest.raises(MissingRow):
        db.fix_scan(999, A)


def test_stale_edit_is_refused_not_lost(db: CollectionDB) -> None:
    db.record_scan(ok(A), "f" * 64, card=A)
    it = db.items()[0]
    first = db.update_item(it.id, it.version, quantity=5)
    with pytest.raises(ConflictError, match="changed since it was read"):
        db.update_item(it.id, it.version, condition="damaged")  # read before the first edit
    now = db.item(it.id)
    assert (now.quantity, now.condition, now.version) == (5, "near_mint", first.version)
    with pytest.raises(CollectionError, match="finish 'shiny'"):
        db.update_item(it.id, now.version, finish="shiny")


def test_edit_onto_an_existing_line_merges(db: CollectionDB) -> None:
    db.record_scan(ok(A), "1" * 64, card=A)
    it = db.items()[0]
    holo = db.update_item(it.id, it.version, finish="holo")
    db.record_scan(ok(A), "2" * 64, card=A)  # a new normal copy
    normal = next(i for i in db.items() if i.finish == "normal")
    merged = db.update_item(normal.id, normal.version, finish="holo")
    assert merged.id == holo.id and merged.quantity == 2
    assert [(i.finish, i.quantity) for i in db.items()] == [("holo", 2)]


def test_concurrent_adjusts_all_count(db: CollectionDB) -> None:
    db.record_scan(ok(A), "3" * 64, card=A)
    iid = db.items()[0].id
    ts = [threading.Thread(target=lambda: [db.adjust(iid, 1) for _ in range(25)]) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert db.item(iid).quantity == 101


def test_delete_and_undo(db: CollectionDB) -> None:
    db.record_scan(ok(A), "4" * 64, card=A)
    db.record_scan(ok(B), "5" * 64, card=B)
    a = next(i for i in db.items() if i.card_id == "t-1")
    db.delete_item(a.id)
    assert [i.card_id for i in db.items()] == ["t-2"]
    with pytest.raises(MissingRow):
        db.delete_item(a.id)
    db.undelete(a.id)
    assert sorted(i.card_id for i in db.items()) == ["t-1", "t-2"]
    assert db.item(a.id).quantity == 1


def test_rows_survive_reopen(tmp_path: Path) -> None:
    p = tmp_path / "c.sqlite"
    with CollectionDB(p) as d:
        d.record_scan(ok(A), "6" * 64, card=A)
    with CollectionDB(p) as d:
        assert [(i.card_id, i.quantity) for i in d.items()] == [("t-1", 1)]
        assert len(d.scans()) == 1
