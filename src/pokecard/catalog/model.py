"""Catalogue records and the two input formats (metadata.json, pokemon-tcg-data).

A catalogue is a folder. Two layouts are read:

* ``metadata.json`` + images (the format of ``../shared/data/catalog/*``)::

      {"catalog": "temporal-forces",
       "cards": [{"card_id", "name", "set_code", "set_name", "number", "image", "rarity"?}]}

  ``image`` is a path relative to the folder.
* pokemon-tcg-data: ``cards/en/<set>.json`` (a list of cards with ``id``, ``name``,
  ``number``, ``rarity`` and optionally ``set``), optional ``sets/en.json`` for set names and
  codes, and an images folder (see :func:`_tcg_image_candidates` for the names looked up).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pokecard.errors import CatalogError, ImageError

log = logging.getLogger(__name__)

METADATA_FILE = "metadata.json"
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".webp")
_REQUIRED = ("card_id", "name", "set_code", "set_name", "number", "image")


@dataclass(frozen=True)
class Card:
    """One catalogue card. ``image`` is relative to the catalogue folder."""

    card_id: str
    name: str
    set_code: str
    set_name: str
    number: str
    image: str
    rarity: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Catalog:
    """A named list of cards whose images live under ``root``."""

    name: str
    root: Path
    cards: list[Card] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.cards)

    def image_path(self, card: Card) -> Path:
        return self.root / card.image

    def load_image(self, card: Card) -> np.ndarray:
        """The card's image as uint8 RGB [H, W, 3]."""
        return read_image(self.image_path(card))

    def by_id(self) -> dict[str, Card]:
        return {c.card_id: c for c in self.cards}

    def content_hash(self) -> str:
        """sha256 over the card metadata and image bytes, in card order: identifies the catalogue."""
        h = hashlib.sha256()
        h.update(self.name.encode())
        for c in self.cards:
            h.update(json.dumps(c.as_dict(), sort_keys=True).encode())
            p = self.image_path(c)
            try:
                h.update(p.read_bytes())
            except OSError as e:
                raise CatalogError(f"{p}: cannot read image of card {c.card_id} ({e.strerror})") from e
        return h.hexdigest()

    def metadata(self) -> dict[str, Any]:
        """The catalogue as a metadata.json document."""
        return {"catalog": self.name, "cards": [_compact(c.as_dict()) for c in self.cards]}


def _compact(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def read_image(path: str | Path) -> np.ndarray:
    """Decode an image file to uint8 RGB [H, W, 3]; ImageError names the file when it cannot."""
    import cv2

    p = Path(path)
    try:
        data = np.fromfile(p, dtype=np.uint8)
    except OSError as e:
        raise ImageError(f"{p}: cannot read image ({e.strerror or e})") from e
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise ImageError(f"{p}: not a readable image (empty, truncated or not JPEG/PNG/WebP)")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def load_catalog(folder: str | Path) -> Catalog:
    """Read a catalogue folder in either supported format (metadata only; images are not decoded)."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise CatalogError(f"{root}: catalogue folder does not exist")
    if (root / METADATA_FILE).is_file():
        return _load_metadata(root)
    if (root / "cards").is_dir():
        return _load_tcg(root)
    raise CatalogError(
        f"{root}: not a catalogue: expected {METADATA_FILE} (cards: [...]) or a pokemon-tcg-data "
        "folder with cards/en/<set>.json"
    )


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise CatalogError(f"{path}: not valid JSON (line {e.lineno}: {e.msg})") from e
    except OSError as e:
        raise CatalogError(f"{path}: cannot read ({e.strerror})") from e


def _load_metadata(root: Path) -> Catalog:
    path = root / METADATA_FILE
    doc = _read_json(path)
    if isinstance(doc, list):
        doc = {"cards": doc}
    if not isinstance(doc, dict) or not isinstance(doc.get("cards"), list):
        raise CatalogError(f"{path}: expected an object with a 'cards' list")
    name = str(doc.get("catalog") or doc.get("name") or root.name)
    cards = []
    for i, raw in enumerate(doc["cards"]):
        if not isinstance(raw, dict):
            raise CatalogError(f"{path}: cards[{i}] is not an object")
        missing = [k for k in _REQUIRED if raw.get(k) in (None, "")]
        if missing:
            who = raw.get("card_id") or f"cards[{i}]"
            raise CatalogError(f"{path}: card {who} is missing {', '.join(missing)}")
        cards.append(
            Card(
                card_id=str(raw["card_id"]),
                name=str(raw["name"]),
                set_code=str(raw["set_code"]),
                set_name=str(raw["set_name"]),
                number=str(raw["number"]),
                image=str(raw["image"]),
                rarity=None if raw.get("rarity") in (None, "") else str(raw["rarity"]),
            )
        )
    return Catalog(name=name, root=root, cards=cards)


def _tcg_sets(root: Path) -> dict[str, dict[str, Any]]:
    p = root / "sets" / "en.json"
    if not p.is_file():
        return {}
    doc = _read_json(p)
    if not isinstance(doc, list):
        raise CatalogError(f"{p}: expected a list of sets")
    return {str(s["id"]): s for s in doc if isinstance(s, dict) and "id" in s}


_N_NAME_CANDIDATES = 8 * len(IMAGE_EXTS)  # the by-name candidates come first, then those from URLs


def _tcg_image_candidates(root: Path, set_id: str, raw: dict[str, Any]) -> list[Path]:
    """Where a pokemon-tcg-data card's image may be: by id, by set/number, or the URL's file name."""
    cid, num = str(raw.get("id")), str(raw.get("number"))
    bases = []
    for d in ("images", "."):
        bases += [
            root / d / cid,
            root / d / set_id / num,
            root / d / set_id / cid,
            root / d / f"{set_id}-{num}",
        ]
    out = [b.with_name(b.name + ext) for b in bases for ext in IMAGE_EXTS]
    imgs = raw.get("images") if isinstance(raw.get("images"), dict) else {}
    for size in ("large", "small"):
        url = imgs.get(size)
        if isinstance(url, str) and "/" in url:
            parts = url.rstrip("/").split("/")
            for d in ("images", "."):
                out += [root / d / parts[-2] / parts[-1], root / d / parts[-1]]
    return out


def _load_tcg(root: Path) -> Catalog:
    files = sorted((root / "cards" / "en").glob("*.json")) or sorted((root / "cards").glob("*.json"))
    if not files:
        raise CatalogError(f"{root}/cards/en: no <set>.json files (pokemon-tcg-data format)")
    sets = _tcg_sets(root)
    cards: list[Card] = []
    for f in files:
        doc = _read_json(f)
        if isinstance(doc, dict) and isinstance(doc.get("data"), list):
            doc = doc["data"]
        if not isinstance(doc, list):
            raise CatalogError(f"{f}: expected a list of cards")
        for i, raw in enumerate(doc):
            if not isinstance(raw, dict):
                raise CatalogError(f"{f}: entry {i} is not an object")
            missing = [k for k in ("id", "name", "number") if raw.get(k) in (None, "")]
            if missing:
                raise CatalogError(f"{f}: card {raw.get('id') or i} is missing {', '.join(missing)}")
            set_obj = raw.get("set")
            set_id = f.stem
            if isinstance(set_obj, dict):
                set_id = str(set_obj.get("id") or set_id)
            elif isinstance(set_obj, str) and set_obj:
                set_id = set_obj
            info = {**sets.get(set_id, {}), **(set_obj if isinstance(set_obj, dict) else {})}
            cands = _tcg_image_candidates(root, set_id, raw)
            found = next((p for p in cands if p.is_file()), None)
            # A missing image is reported by validation, naming the most likely place: where
            # the card's image URL would have been downloaded to, else images/<id>.jpg.
            from_url = cands[_N_NAME_CANDIDATES:]
            img = found if found is not None else (from_url[0] if from_url else cands[0])
            cards.append(
                Card(
                    card_id=str(raw["id"]),
                    name=str(raw["name"]),
                    set_code=str(info.get("ptcgoCode") or set_id),
                    set_name=str(info.get("name") or set_id),
                    number=str(raw["number"]),
                    image=img.relative_to(root).as_posix() if img.is_relative_to(root) else str(img),
                    rarity=None if raw.get("rarity") in (None, "") else str(raw["rarity"]),
                )
            )
    name = root.name
    return Catalog(name=name, root=root, cards=cards)
