"""The collection's lines: one card in one finish, condition and language, with a count.
Adding, taking, editing (with a version check), deleting and reading them."""

from __future__ import annotations

import dataclasses
import sqlite3
from dataclasses import asdict, dataclass
from typing import Any

from pokecard.collection.sqlite import MissingRow, SQLiteFile, now
from pokecard.errors import CollectionError, ConflictError

FINISHES = ("normal", "holo", "reverse_holo")
CONDITIONS = ("near_mint", "lightly_played", "moderately_played", "heavily_played", "damaged")
DEFAULT_LANGUAGE = "English"
_CARD_FIELDS = ("card_id", "name", "set_code", "set_name", "number", "rarity")


@dataclass
class Item:
    """One line of the collection: a card in one finish, condition and language, with a count."""

    id: int
    card_id: str
    name: str
    set_code: str
    set_name: str
    number: str
    rarity: str
    finish: str
    condition: str
    language: str
    quantity: int
    added: str
    updated: str
    version: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _item_of(row: sqlite3.Row) -> Item:
    return Item(**{f.name: row[f.name] for f in dataclasses.fields(Item)})


def _check(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise CollectionError(f"{what} {value!r} is not one of {', '.join(allowed)}")
    return value


class Items(SQLiteFile):
    """The items and cards tables: writes are one transaction each, reads take the lock."""

    # -- writes ------------------------------------------------------------------------

    def _put_card(self, c: sqlite3.Connection, card: dict[str, Any]) -> str:
        if not card.get("card_id") or not card.get("name"):
            raise CollectionError(f"card {card!r}: card_id and name are required")
        vals = [str(card.get(k) or "") for k in _CARD_FIELDS]
        c.execute(
            "INSERT INTO cards VALUES (?,?,?,?,?,?) ON CONFLICT(card_id) DO UPDATE SET "
            "name=excluded.name, set_code=excluded.set_code, set_name=excluded.set_name, "
            "number=excluded.number, rarity=excluded.rarity",
            vals,
        )
        return vals[0]

    def _add(
        self,
        c: sqlite3.Connection,
        card_id: str,
        delta: int,
        finish: str = "normal",
        condition: str = "near_mint",
        language: str = DEFAULT_LANGUAGE,
        added: str | None = None,
        absolute: bool = False,
    ) -> int:
        """Add ``delta`` copies to the (card, finish, condition, language) line (or set it to
        ``delta`` when ``absolute``); a deleted line comes back with only the new copies."""
        t = now()
        row = c.execute(
            "SELECT id, quantity, deleted FROM items WHERE card_id=? AND finish=? AND condition=? AND language=?",
            (card_id, finish, condition, language),
        ).fetchone()
        if row is None:
            cur = c.execute(
                "INSERT INTO items (card_id, finish, condition, language, quantity, added, updated) "
                "VALUES (?,?,?,?,?,?,?)",
                (card_id, finish, condition, language, max(delta, 0), added or t, t),
            )
            return int(cur.lastrowid)
        base = 0 if (row["deleted"] or absolute) else row["quantity"]
        q = max(base + delta, 0)
        c.execute(
            "UPDATE items SET quantity=?, deleted=NULL, updated=?, version=version+1 WHERE id=?",
            (q, t, row["id"]),
        )
        return int(row["id"])

    def _take(self, c: sqlite3.Connection, item_id: int) -> None:
        """One copy fewer on a line; a line left with none is deleted (it can be undone)."""
        t = now()
        c.execute(
            "UPDATE items SET quantity=MAX(quantity-1, 0), updated=?, version=version+1 WHERE id=?",
            (t, item_id),
        )
        c.execute("UPDATE items SET deleted=? WHERE id=? AND quantity=0 AND deleted IS NULL", (t, item_id))

    def adjust(self, item_id: int, delta: int) -> Item:
        """Add (or remove, negative) copies atomically; concurrent calls all count."""
        with self._write() as c:
            self._live(c, item_id)
            c.execute(
                "UPDATE items SET quantity=MAX(quantity+?, 0), updated=?, version=version+1 WHERE id=?",
                (int(delta), now(), item_id),
            )
            return self._item(c, item_id)

    def update_item(self, item_id: int, version: int, **fields: Any) -> Item:
        """Edit quantity / finish / condition / language of a line read at ``version``; a line
        changed since raises ConflictError (no lost update). Moving a line onto an existing one
        (same card, finish, condition, language) merges their copies."""
        allowed = {"quantity", "finish", "condition", "language"}
        bad = set(fields) - allowed
        if bad:
            raise CollectionError(f"cannot edit {', '.join(sorted(bad))}: only {', '.join(sorted(allowed))}")
        with self._write() as c:
            cur = self._live(c, item_id)
            if cur.version != int(version):
                raise ConflictError(
                    f"item {item_id} was changed since it was read (version {version}, now {cur.version}); reload it"
                )
            new = {
                "quantity": int(fields.get("quantity", cur.quantity)),
                "finish": _check(str(fields.get("finish", cur.finish)), FINISHES, "finish"),
                "condition": _check(str(fields.get("condition", cur.condition)), CONDITIONS, "condition"),
                "language": str(fields.get("language", cur.language)).strip() or DEFAULT_LANGUAGE,
            }
            if new["quantity"] < 0:
                raise CollectionError(f"quantity {new['quantity']} is negative")
            other = c.execute(
                "SELECT id FROM items WHERE card_id=? AND finish=? AND condition=? AND language=? AND id<>?",
                (cur.card_id, new["finish"], new["condition"], new["language"], item_id),
            ).fetchone()
            t = now()
            if other is not None:
                oid = self._add(
                    c, cur.card_id, new["quantity"], new["finish"], new["condition"], new["language"]
                )
                c.execute("UPDATE scans SET item_id=? WHERE item_id=?", (oid, item_id))
                c.execute("UPDATE items SET deleted=?, version=version+1 WHERE id=?", (t, item_id))
                return self._item(c, oid)
            c.execute(
                "UPDATE items SET quantity=?, finish=?, condition=?, language=?, updated=?, version=version+1 "
                "WHERE id=?",
                (new["quantity"], new["finish"], new["condition"], new["language"], t, item_id),
            )
            return self._item(c, item_id)

    def delete_item(self, item_id: int) -> Item:
        """Delete a line (kept so that ``undelete`` can bring it back)."""
        with self._write() as c:
            self._live(c, item_id)
            c.execute("UPDATE items SET deleted=?, version=version+1 WHERE id=?", (now(), item_id))
            return self._item(c, item_id)

    def undelete(self, item_id: int) -> Item:
        with self._write() as c:
            if c.execute("SELECT 1 FROM items WHERE id=?", (item_id,)).fetchone() is None:
                raise MissingRow(f"item {item_id} does not exist")
            c.execute("UPDATE items SET deleted=NULL, version=version+1 WHERE id=?", (item_id,))
            return self._item(c, item_id)

    def set_lines(self, rows: list[dict[str, Any]]) -> int:
        """Set each (card, finish, condition, language) line to exactly its ``quantity``, all in
        one transaction (what makes an import idempotent, and all-or-nothing)."""
        with self._write() as c:
            for r in rows:
                _check(r["finish"], FINISHES, "finish")
                _check(r["condition"], CONDITIONS, "condition")
                card_id = self._put_card(c, r["card"])
                self._add(
                    c,
                    card_id,
                    int(r["quantity"]),
                    r["finish"],
                    r["condition"],
                    r.get("language") or DEFAULT_LANGUAGE,
                    r.get("added"),
                    absolute=True,
                )
        return len(rows)

    # -- reads -------------------------------------------------------------------------

    _ITEM_SQL = (
        "SELECT i.id, i.card_id, c.name, c.set_code, c.set_name, c.number, c.rarity, i.finish, i.condition, "
        "i.language, i.quantity, i.added, i.updated, i.version, i.deleted FROM items i JOIN cards c USING (card_id)"
    )

    def _item(self, c: sqlite3.Connection, item_id: int) -> Item:
        row = c.execute(self._ITEM_SQL + " WHERE i.id=?", (item_id,)).fetchone()
        if row is None:
            raise MissingRow(f"item {item_id} does not exist")
        return _item_of(row)

    def _live(self, c: sqlite3.Connection, item_id: int) -> Item:
        row = c.execute("SELECT deleted FROM items WHERE id=?", (item_id,)).fetchone()
        if row is None or row["deleted"] is not None:
            raise MissingRow(f"item {item_id} does not exist (or was deleted)")
        return self._item(c, item_id)

    def item(self, item_id: int) -> Item:
        with self._lock:
            return self._live(self._con, item_id)

    def items(self) -> list[Item]:
        with self._lock:
            rows = self._con.execute(
                self._ITEM_SQL + " WHERE i.deleted IS NULL AND i.quantity > 0 "
                "ORDER BY c.set_code, c.number, c.name, i.finish, i.condition, i.language"
            ).fetchall()
        return [_item_of(r) for r in rows]

    def totals(self) -> list[dict[str, Any]]:
        """Per set: distinct cards and copies."""
        with self._lock:
            rows = self._con.execute(
                "SELECT c.set_code, c.set_name, COUNT(DISTINCT i.card_id) AS cards, SUM(i.quantity) AS copies "
                "FROM items i JOIN cards c USING (card_id) WHERE i.deleted IS NULL AND i.quantity > 0 "
                "GROUP BY c.set_code, c.set_name ORDER BY c.set_code"
            ).fetchall()
        return [dict(r) for r in rows]
