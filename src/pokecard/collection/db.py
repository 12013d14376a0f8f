"""The collection database: the one module that writes it.

SQLite under the project root (``layout.COLLECTION_DB``), WAL journal with synchronous=FULL
so a row is on disk before the call that wrote it returns (a killed server loses nothing it
acknowledged). The schema (pokecard.collection.schema) is a list of migrations applied in
order; ``PRAGMA user_version`` records how many ran. Every write is one ``BEGIN IMMEDIATE``
transaction under one lock, so the web app's threads and the CLI can share the file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pokecard import layout
from pokecard.collection.schema import MIGRATIONS, SCHEMA_VERSION
from pokecard.errors import CollectionError, ConflictError
from pokecard.store import LocalStore, open_store

FINISHES = ("normal", "holo", "reverse_holo")
CONDITIONS = ("near_mint", "lightly_played", "moderately_played", "heavily_played", "damaged")
DEFAULT_LANGUAGE = "English"
_CARD_FIELDS = ("card_id", "name", "set_code", "set_name", "number", "rarity")


class MissingRow(CollectionError):
    """A scan or item id that is not in the collection."""


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


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


def db_path(root_or_store: Any) -> Path:
    """The collection file under a local project root (SQLite needs a local file)."""
    st = root_or_store if hasattr(root_or_store, "url") else open_store(root_or_store)
    if not isinstance(st, LocalStore):
        raise CollectionError(
            f"{st.url}: the collection database needs a local project root (SQLite cannot live in S3); "
            "use a local --root"
        )
    return st.path(layout.COLLECTION_DB)


def _check(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise CollectionError(f"{what} {value!r} is not one of {', '.join(allowed)}")
    return value


class CollectionDB:
    """The collection: items (grouped by card), scans (one per recognized photo) and corrections."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            self._con = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            self._con.row_factory = sqlite3.Row
            self._con.execute("PRAGMA journal_mode=WAL")
            self._con.execute("PRAGMA synchronous=FULL")
            self._con.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as e:
            raise CollectionError(f"{self.path}: not a usable collection database ({e})") from e

    @classmethod
    def open(cls, root_or_store: Any) -> CollectionDB:
        return cls(db_path(root_or_store))

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def __enter__(self) -> CollectionDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._con.execute("BEGIN IMMEDIATE")
            try:
                yield self._con
            except BaseException:
                self._con.execute("ROLLBACK")
                raise
            self._con.execute("COMMIT")

    def _migrate(self) -> None:
        with self._write() as c:
            have = c.execute("PRAGMA user_version").fetchone()[0]
            if have > SCHEMA_VERSION:
                raise CollectionError(
                    f"{self.path}: schema version {have} is newer than this pokecard ({SCHEMA_VERSION}); upgrade pokecard"
                )
            for i in range(have, SCHEMA_VERSION):
                for stmt in MIGRATIONS[i].split(";"):
                    if stmt.strip():
                        c.execute(stmt)
                c.execute(f"PRAGMA user_version = {i + 1}")

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._con.execute("PRAGMA user_version").fetchone()[0])

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

    def record_scan(
        self,
        result: dict[str, Any],
        sha256: str,
        card: dict[str, Any] | None = None,
        source: str = "upload",
    ) -> dict[str, Any]:
        """Store one recognized photo; an ``ok`` one adds a copy of its card to the collection.
        The same photo (sha256) recorded again is not counted twice: its first scan is returned."""
        with self._write() as c:
            old = c.execute("SELECT id FROM scans WHERE sha256=? ORDER BY id LIMIT 1", (sha256,)).fetchone()
            if old is not None:
                return {**self._scan(c, old["id"]), "duplicate": True}
            item_id = None
            card_id = None
            if result.get("status") == "ok" and card:
                card_id = self._put_card(c, card)
                item_id = self._add(c, card_id, 1)
            cur = c.execute(
                "INSERT INTO scans (sha256, file, source, status, card_id, score, result, item_id, created) "
                "VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    sha256,
                    str(result.get("file") or ""),
                    source,
                    str(result.get("status")),
                    card_id,
                    result.get("score"),
                    json.dumps(result, sort_keys=True, default=str),
                    item_id,
                    now(),
                ),
            )
            return {**self._scan(c, int(cur.lastrowid)), "duplicate": False}

    def fix_scan(self, scan_id: int, card: dict[str, Any]) -> dict[str, Any]:
        """Replace a scan's card (or assign an unknown one): the copy moves to the right card,
        and the correction is kept with the photo's sha256."""
        with self._write() as c:
            s = c.execute("SELECT * FROM scans WHERE id=?", (scan_id,)).fetchone()
            if s is None:
                raise MissingRow(f"scan {scan_id} does not exist")
            card_id = self._put_card(c, card)
            first = c.execute(
                "SELECT recognized, recognized_status, score FROM corrections WHERE scan_id=? ORDER BY id LIMIT 1",
                (scan_id,),
            ).fetchone()
            if s["item_id"] is not None:
                self._take(c, s["item_id"])
            item_id = self._add(c, card_id, 1)
            c.execute("UPDATE scans SET card_id=?, item_id=? WHERE id=?", (card_id, item_id, scan_id))
            orig = json.loads(s["result"])
            recognized = (orig.get("card") or {}).get("card_id") if first is None else first["recognized"]
            c.execute(
                "INSERT INTO corrections (scan_id, sha256, recognized, recognized_status, score, corrected, created) "
                "VALUES (?,?,?,?,?,?,?)",
                (
                    scan_id,
                    s["sha256"],
                    recognized,
                    orig.get("status", "") if first is None else first["recognized_status"],
                    orig.get("score") if first is None else first["score"],
                    card_id,
                    now(),
                ),
            )
            return self._scan(c, scan_id)

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

    def _scan(self, c: sqlite3.Connection, scan_id: int) -> dict[str, Any]:
        r = c.execute("SELECT * FROM scans WHERE id=?", (scan_id,)).fetchone()
        d = dict(r)
        d["result"] = json.loads(d["result"])
        return d

    def scan(self, scan_id: int) -> dict[str, Any]:
        with self._lock:
            if self._con.execute("SELECT 1 FROM scans WHERE id=?", (scan_id,)).fetchone() is None:
                raise MissingRow(f"scan {scan_id} does not exist")
            return self._scan(self._con, scan_id)

    def scans(self) -> list[dict[str, Any]]:
        with self._lock:
            ids = [r[0] for r in self._con.execute("SELECT id FROM scans ORDER BY id")]
            return [self._scan(self._con, i) for i in ids]

    def corrections(self) -> list[dict[str, Any]]:
        """Every fix, oldest first: the photo's sha256, what the recognizer said, what the user chose."""
        with self._lock:
            rows = self._con.execute(
                "SELECT k.id, k.scan_id, k.sha256, s.file, k.recognized, k.recognized_status, k.score, "
                "k.corrected, k.created FROM corrections k JOIN scans s ON s.id = k.scan_id ORDER BY k.id"
            ).fetchall()
        return [dict(r) for r in rows]
