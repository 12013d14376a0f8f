"""What the web app serves, without HTTP: the recognizer and catalogue loaded once, the
collection database, and the upload checks (size, the CLI's decoder guards)."""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from pokecard.catalog import load_processed
from pokecard.collection import CollectionDB
from pokecard.edge.vote import CardVote
from pokecard.errors import ImageError
from pokecard.imageio import load_rgb
from pokecard.recognize import DECODE_MIN_SIDE, Recognizer
from pokecard.result import Result
from pokecard.store import open_store

MAX_FILE_BYTES = 25 * 1024 * 1024  # a 48 MP phone JPEG is ~15 MB
MAX_FRAME_BYTES = 4 * 1024 * 1024
LIVE_SESSIONS = 64
_SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_CARD_FIELDS = ("card_id", "name", "set_code", "set_name", "number", "rarity")


def display_name(name: str | None) -> str:
    """A client's file name as a label only (never a path): its last part, printable, short."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if ch.isprintable())[:120]
    return base or "upload"


@dataclass
class Limits:
    max_file_bytes: int = MAX_FILE_BYTES
    max_frame_bytes: int = MAX_FRAME_BYTES
    max_files: int = 200


class Service:
    """One per server: recognition is serialised (one recognizer, CPU-bound), database writes
    go through the collection module."""

    def __init__(self, root: str | Path, *, limits: Limits | None = None, recognizer: Any = None) -> None:
        self.store = open_store(root)
        self.catalog = load_processed(self.store)
        self.cards = {c.card_id: c for c in self.catalog.cards}
        self.recognizer = recognizer or Recognizer(self.store)
        self.db = CollectionDB.open(self.store)
        self.limits = limits or Limits()
        self._rec_lock = threading.Lock()
        self._votes: OrderedDict[str, CardVote] = OrderedDict()
        self._votes_lock = threading.Lock()

    def close(self) -> None:
        self.db.close()

    # -- cards ---------------------------------------------------------------------------

    def card(self, card_id: str | None) -> dict[str, Any] | None:
        c = self.cards.get(card_id or "")
        if c is None:
            return None
        d = {k: getattr(c, k) or "" for k in _CARD_FIELDS}
        d["image"] = "api/card-image?" + urlencode({"id": c.card_id})
        return d

    def card_image(self, card_id: str) -> Path | None:
        """The processed crop of a catalogue card; the client names a card, never a path."""
        c = self.cards.get(card_id)
        return None if c is None else self.catalog.image_path(c)

    def search(self, q: str, limit: int = 24) -> list[dict[str, Any]]:
        """Catalogue cards whose name contains ``q``, or whose number or id is ``q`` (case-insensitive)."""
        q = q.strip().casefold()
        if not q:
            return []
        out = []
        for c in self.catalog.cards:
            num = c.number.casefold()
            if (
                q in c.name.casefold()
                or q == num
                or q == num.split("/")[0].lstrip("0")
                or q == c.card_id.casefold()
            ):
                out.append(self.card(c.card_id))
                if len(out) >= limit:
                    break
        return out  # type: ignore[return-value]

    # -- recognition ---------------------------------------------------------------------

    def _view(self, result: Result) -> dict[str, Any]:
        """A recognizer result with the catalogue facts the page shows (image, set name) and the
        top-k alternatives as cards."""
        shown = result.card_id
        alts = []
        for t in result.top_k:
            if t.card_id != shown and (c := self.card(t.card_id)):
                alts.append({**c, "score": t.score})
        return {**result.to_json(), "card": self.card(shown), "alternatives": alts}

    def recognize_bytes(self, data: bytes, name: str, max_bytes: int | None = None) -> Result:
        """Decode with the CLI's guards and recognize; a bad file is an ``error`` result naming it."""
        limit = max_bytes or self.limits.max_file_bytes
        if len(data) > limit:
            return Result.failed(
                name, f"{name}: {len(data) / 1e6:.1f} MB is over the upload limit of {limit / 1e6:.0f} MB"
            )
        if not data:
            return Result.failed(name, f"{name}: the file is empty")
        try:
            rgb = load_rgb(data, name=name, min_side=DECODE_MIN_SIDE)
        except ImageError as e:
            return Result.failed(name, str(e))
        if min(rgb.shape[:2]) < 16:  # the CLI's message for the same photo
            return Result.failed(
                name, f"{name}: image is {rgb.shape[1]}x{rgb.shape[0]}, too small to hold a card"
            )
        with self._rec_lock:
            return self.recognizer.recognize_array(rgb, name=name)

    def scan(self, data: bytes, name: str, source: str = "upload") -> dict[str, Any]:
        """Recognize one uploaded photo and record it (errors are reported, nothing is written)."""
        name = display_name(name)
        result = self.recognize_bytes(data, name)
        return self._record(result, hashlib.sha256(data).hexdigest(), source)

    def _record(self, result: Result, sha: str, source: str) -> dict[str, Any]:
        view = self._view(result)
        if result.status == "error":
            return {"scan_id": None, "duplicate": False, "sha256": sha, **view}
        rec = self.db.record_scan(result.to_json(), sha, card=view["card"], source=source)
        return {
            "scan_id": rec["id"],
            "duplicate": rec["duplicate"],
            "sha256": sha,
            "item_id": rec["item_id"],
            **view,
        }

    def live_frame(self, session: str, data: bytes) -> dict[str, Any]:
        """One camera frame of a live session: recognized and fed to the session's vote; the frame
        that makes a card stable is recorded as a scan."""
        if not _SESSION_RE.match(session or ""):
            raise ValueError("session must be 8-64 letters, digits, '-' or '_'")
        result = self.recognize_bytes(data, "frame", self.limits.max_frame_bytes)
        with self._votes_lock:
            vote = self._votes.pop(session, None) or CardVote()
            self._votes[session] = vote
            while len(self._votes) > LIVE_SESSIONS:
                self._votes.popitem(last=False)
            change = vote.feed(result)  # the same vote as the camera loop (pokecard live)
        out: dict[str, Any] = {"frame": self._view(result), "stable": None}
        if change is not None and change.card_id is not None:
            out["stable"] = self._record(result, hashlib.sha256(data).hexdigest(), "live")
        return out

    # -- fixes ---------------------------------------------------------------------------

    def fix(self, scan_id: int, card_id: str) -> dict[str, Any]:
        card = self.card(card_id)
        if card is None:
            raise KeyError(card_id)
        s = self.db.fix_scan(scan_id, card)
        return {"scan_id": s["id"], "item_id": s["item_id"], "card": card}
