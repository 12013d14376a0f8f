"""`catalog build`: validate a catalogue and write it into the project layout, incrementally.

Writes (keys from :mod:`pokecard.layout`):

* ``RAW_IMAGES/images/<card_id><ext>``: the original scan bytes, untouched;
* ``CATALOG_METADATA``: the catalogue's metadata.json, images relative to ``RAW_IMAGES``
  (so that folder is itself a catalogue :func:`load_catalog` reads);
* ``PROCESSED/images/<card_id>.jpg``: the canonical crop, the whole card rectified to
  352 x 252 (H x W, :data:`pokecard.card.CANONICAL_HW`), RGB JPEG quality 95 without
  chroma subsampling (small, fast to decode, visually lossless; PNG would be 4x larger
  and slower to read in a training loop for no measurable gain);
* ``PROCESSED_INDEX``: the processed catalogue (cards, image paths relative to
  ``PROCESSED``, per-card content hash) that :func:`load_processed` reads.

Incremental: a card's key is sha256(processing version + metadata + image bytes); a card
whose key matches the existing index and whose files exist is not processed again.
Validation runs over every card before anything is written: with a bad card the build
stops (or skips the bad cards with ``skip_bad``) and the root is untouched.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pokecard import layout
from pokecard.card import CANONICAL_H, CANONICAL_HW, CANONICAL_W, CARD_ASPECT
from pokecard.catalog.model import Card, Catalog, load_catalog
from pokecard.errors import CatalogError
from pokecard.progress import progress
from pokecard.store import LocalStore, Store, open_store

log = logging.getLogger(__name__)

# Bump when the canonical crop changes, so every card is reprocessed on the next build.
PROCESS_VERSION = "canonical-v1"
JPEG_QUALITY = 95
# A scan is card-shaped when width/height is within this fraction of 63:88 (portrait), or
# of 88:63 (a landscape scan, rotated to portrait). Real scans are 0.70-0.73.
ASPECT_TOLERANCE = 0.08
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_CHUNK = 64


@dataclass(frozen=True)
class BadCard:
    card_id: str
    file: str
    problem: str

    def __str__(self) -> str:
        return f"{self.card_id} ({self.file}): {self.problem}"


@dataclass
class BuildReport:
    """What a build did. ``processed`` are the card ids (re)written; ``unchanged`` were skipped."""

    catalog: str
    root: str
    cards: int = 0
    processed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[BadCard] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    content_hash: str = ""

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["skipped"] = [asdict(b) for b in self.skipped]
        return d


def safe_name(card_id: str) -> str:
    """A file-name-safe form of a card id (ids like 'sv5-1' stay as they are)."""
    return _SAFE.sub("_", card_id).strip("._") or "card"


def card_shape_problem(h: int, w: int) -> str | None:
    """None when an image of h x w pixels is card-shaped, else the problem in words."""
    if h < 32 or w < 32:
        return f"image is {w}x{h} px, too small to be a card scan"
    a = w / h
    if abs(a / CARD_ASPECT - 1) <= ASPECT_TOLERANCE or abs(a * CARD_ASPECT - 1) <= ASPECT_TOLERANCE:
        return None
    return (
        f"not card-shaped: {w}x{h} px is aspect {a:.2f}, a card is 63:88 = {CARD_ASPECT:.3f} "
        f"(tolerance {ASPECT_TOLERANCE:.0%})"
    )


def canonical_crop(img: np.ndarray) -> np.ndarray:
    """The whole card resized to CANONICAL_HW (352 x 252) RGB; landscape scans are turned to portrait."""
    import cv2

    if img.shape[1] > img.shape[0]:
        img = np.ascontiguousarray(np.rot90(img, k=-1))
    if img.shape[:2] == CANONICAL_HW:
        return img.copy()
    interp = cv2.INTER_AREA if img.shape[0] > CANONICAL_H else cv2.INTER_CUBIC
    return cv2.resize(img, (CANONICAL_W, CANONICAL_H), interpolation=interp)


def encode_jpeg(img: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    import cv2

    params = [cv2.IMWRITE_JPEG_QUALITY, quality]
    if hasattr(cv2, "IMWRITE_JPEG_SAMPLING_FACTOR"):
        params += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise CatalogError("JPEG encoding failed")
    return buf.tobytes()


def _card_key(card: Card, data: bytes) -> str:
    h = hashlib.sha256(PROCESS_VERSION.encode())
    meta = {k: v for k, v in card.as_dict().items() if k != "image"}
    h.update(json.dumps(meta, sort_keys=True).encode())
    h.update(data)
    return h.hexdigest()


@dataclass
class _Checked:
    """A card that passed validation: its image's path, content key and extension (no pixels:
    a large catalogue must not be held in memory)."""

    card: Card
    path: Path
    key: str
    ext: str


def _check_image(card: Card, path: Path) -> tuple[str, str] | BadCard:
    """Read + decode one image; (content key, ext) or the problem. Runs in worker threads."""
    import cv2

    try:
        data = path.read_bytes()
    except OSError as e:
        why = "image file is missing" if isinstance(e, FileNotFoundError) else f"cannot read ({e})"
        return BadCard(card.card_id, str(path), why)
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_REDUCED_COLOR_2) if data else None
    if arr is None:
        return BadCard(card.card_id, str(path), "image is unreadable (empty, truncated or not an image)")
    if _truncated(data):
        # decoders fill a cut-off JPEG/PNG with grey instead of failing
        return BadCard(card.card_id, str(path), "image is unreadable (truncated: the file ends early)")
    # the header's size, not the reduced decode's (which rounds up)
    h, w = _image_size(data) or (arr.shape[0] * 2, arr.shape[1] * 2)
    problem = card_shape_problem(h, w)
    if problem:
        return BadCard(card.card_id, str(path), problem)
    ext = path.suffix.lower() if path.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp") else ".img"
    return _card_key(card, data), ext


def _truncated(data: bytes) -> bool:
    """True when a JPEG lacks its end-of-image marker or a PNG its IEND chunk near the end."""
    tail = data[-4096:]
    if data[:2] == b"\xff\xd8":
        return b"\xff\xd9" not in tail
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return b"IEND" not in tail
    return False


def _image_size(data: bytes) -> tuple[int, int] | None:
    """(height, width) from the file header (Pillow reads only the header), or None."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    return h, w


def _threads() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def validate(catalog: Catalog) -> tuple[list[_Checked], list[BadCard]]:
    """Check every card (ids, files, decodability, shape); returns the good ones and the bad ones."""
    good: list[_Checked] = []
    bad: list[BadCard] = []
    seen: dict[str, str] = {}
    names: dict[str, str] = {}
    todo: list[tuple[Card, Path]] = []
    for c in catalog.cards:
        path = catalog.image_path(c)
        if c.card_id in seen:
            bad.append(BadCard(c.card_id, str(path), f"duplicate card id (first used by {seen[c.card_id]})"))
            continue
        seen[c.card_id] = str(path)
        fname = safe_name(c.card_id)
        if fname in names:
            bad.append(BadCard(c.card_id, str(path), f"card id maps to the same file name as {names[fname]}"))
            continue
        names[fname] = c.card_id
        todo.append((c, path))
    # decoding releases the GIL: threads use every core without copying images between processes
    with ThreadPoolExecutor(_threads()) as ex, progress(len(todo), "validating") as advance:
        for (c, path), res in zip(todo, ex.map(lambda cp: _check_image(*cp), todo), strict=True):
            advance(1)
            if isinstance(res, BadCard):
                bad.append(res)
            else:
                good.append(_Checked(c, path, res[0], res[1]))
    return good, bad


def _process(ck: _Checked) -> tuple[bytes, bytes]:
    """(raw bytes, canonical crop JPEG) of a validated card; fails if the file changed meanwhile."""
    import cv2

    data = ck.path.read_bytes()
    if _card_key(ck.card, data) != ck.key:
        raise CatalogError(f"{ck.path}: the image changed during the build; run it again")
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return data, encode_jpeg(canonical_crop(cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)))


def build_catalog(
    source: str | Path | Catalog, store: Store | str | Path, *, skip_bad: bool = False
) -> BuildReport:
    """Validate ``source`` and write raw images, metadata and canonical crops into ``store``."""
    catalog = source if isinstance(source, Catalog) else load_catalog(source)
    if not catalog.cards:
        raise CatalogError(f"{catalog.root}: the catalogue is empty (no cards)")
    good, bad = validate(catalog)
    if bad and not skip_bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise CatalogError(
            f"bad card {bad[0]}{more}; nothing was written. Fix the catalogue or use --skip-bad to skip bad cards"
        )
    if not good:
        raise CatalogError(f"{catalog.root}: no valid cards left after skipping {len(bad)} bad card(s)")
    for b in bad:
        log.warning("skipping bad card %s", b)

    st = open_store(store)
    old: dict[str, Any] = {}
    if st.exists(layout.PROCESSED_INDEX):
        try:
            old = {c["card_id"]: c for c in st.get_json(layout.PROCESSED_INDEX).get("cards", [])}
        except (KeyError, TypeError, AttributeError):
            log.warning("%s is malformed; rebuilding every card", layout.PROCESSED_INDEX)
    report = BuildReport(catalog=catalog.name, root=st.url, cards=len(good), skipped=bad)
    raw_cards: list[Card] = []
    index_cards: list[dict[str, Any]] = []
    todo: list[tuple[_Checked, str, str]] = []
    for ck in good:
        fname = safe_name(ck.card.card_id)
        raw_rel = f"images/{fname}{ck.ext}"
        proc_rel = f"images/{fname}.jpg"
        raw_key, proc_key = f"{layout.RAW_IMAGES}/{raw_rel}", f"{layout.PROCESSED}/{proc_rel}"
        prev = old.get(ck.card.card_id)
        if (
            prev is not None
            and prev.get("sha256") == ck.key
            and prev.get("image") == proc_rel
            and prev.get("raw_image") == raw_rel
            and st.exists(proc_key)
            and st.exists(raw_key)
        ):
            report.unchanged.append(ck.card.card_id)
        else:
            todo.append((ck, raw_key, proc_key))
            report.processed.append(ck.card.card_id)
        raw_cards.append(Card(**{**ck.card.as_dict(), "image": raw_rel}))
        index_cards.append(
            {k: v for k, v in ck.card.as_dict().items() if v is not None}
            | {"image": proc_rel, "raw_image": raw_rel, "sha256": ck.key}
        )
    with st.batch():
        with ThreadPoolExecutor(_threads()) as ex, progress(len(todo), "building") as advance:
            # in chunks, so at most a chunk of images is in memory while the store writes
            for start in range(0, len(todo), _CHUNK):
                chunk = todo[start : start + _CHUNK]
                for (_ck, raw_key, proc_key), (raw, crop) in zip(
                    chunk, ex.map(lambda t: _process(t[0]), chunk), strict=True
                ):
                    st.put_bytes(raw_key, raw)
                    st.put_bytes(proc_key, crop)
                    advance(1)
        current = {c.card.card_id for c in good}
        report.removed = sorted(k for k in old if k not in current)
        raw_cat = Catalog(catalog.name, Path("."), raw_cards)
        h = hashlib.sha256(PROCESS_VERSION.encode())
        for c in index_cards:
            h.update(c["sha256"].encode())
        report.content_hash = h.hexdigest()
        st.put_json(layout.CATALOG_METADATA, raw_cat.metadata())
        st.put_json(
            layout.PROCESSED_INDEX,
            {
                "catalog": catalog.name,
                "process_version": PROCESS_VERSION,
                "image_size_hw": list(CANONICAL_HW),
                "format": f"jpeg q{JPEG_QUALITY} 4:4:4 RGB",
                "content_hash": report.content_hash,
                "cards": index_cards,
            },
        )
    if report.removed:
        # Their files stay (builds never delete); they are no longer in the index.
        log.info("%d card(s) no longer in the catalogue were dropped from the index", len(report.removed))
    return report


def load_processed(store: Store | str | Path, cache_dir: str | Path | None = None) -> Catalog:
    """The built catalogue: cards whose images are the 352 x 252 canonical crops.

    For a local root the images are read in place; for S3 the processed folder is pulled
    (sha256-verified) into ``cache_dir`` (a temp folder when not given).
    """
    st = open_store(store)
    if not st.exists(layout.PROCESSED_INDEX):
        raise CatalogError(
            f"{st.url}{layout.PROCESSED_INDEX} does not exist: run `pokecard catalog build --root ...` first"
        )
    doc = st.get_json(layout.PROCESSED_INDEX)
    if isinstance(st, LocalStore):
        root = st.path(layout.PROCESSED)
    else:
        root = Path(cache_dir) if cache_dir else Path(tempfile.mkdtemp(prefix="pokecard-processed-"))
        st.pull(layout.PROCESSED, root)
    fields = ("card_id", "name", "set_code", "set_name", "number", "image", "rarity")
    try:
        cards = [Card(**{k: c.get(k) for k in fields}) for c in doc["cards"]]
    except (KeyError, TypeError) as e:
        raise CatalogError(f"{st.url}{layout.PROCESSED_INDEX}: malformed index ({e})") from e
    return Catalog(name=str(doc.get("catalog", "catalog")), root=root, cards=cards)
