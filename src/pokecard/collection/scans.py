"""Scans (one per recognized photo) and their corrections: recording a photo adds a copy of
its card; fixing a scan moves that copy and keeps what the recognizer said."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from pokecard.collection.items import Items
from pokecard.collection.sqlite import MissingRow, now


class Scans(Items):
    """The scans and corrections tables, on top of the items a scan counts in."""

    # -- writes ------------------------------------------------------------------------

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

    # -- reads -------------------------------------------------------------------------

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
