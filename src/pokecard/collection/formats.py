"""Collection CSV formats: our own (generic, round-trips) and the column lists that TCGplayer
and Collectr import. IDs we do not have (TCGplayer Product ID / SKU, prices) stay empty."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pokecard.collection.db import CONDITIONS, DEFAULT_LANGUAGE, FINISHES, CollectionDB, Item
from pokecard.errors import CollectionError

GENERIC_FIELDS = (
    "card_id",
    "name",
    "set_code",
    "set_name",
    "number",
    "rarity",
    "quantity",
    "finish",
    "condition",
    "language",
    "added",
)
TCGPLAYER_FIELDS = (
    "Quantity",
    "Name",
    "Simple Name",
    "Set",
    "Card Number",
    "Set Code",
    "Printing",
    "Condition",
    "Language",
    "Rarity",
    "Product ID",
    "SKU",
)
COLLECTR_FIELDS = (
    "Portfolio Name",
    "Category",
    "Set",
    "Product Name",
    "Card Number",
    "Rarity",
    "Variance",
    "Grade",
    "Card Condition",
    "Average Cost Paid",
    "Quantity",
    "Market Price (As of {date})",
    "Price Override",
    "Watchlist",
    "Date Added",
    "Notes",
)
PRINTING = {"normal": "Normal", "holo": "Holofoil", "reverse_holo": "Reverse Holofoil"}
CONDITION_NAMES = {
    "near_mint": "Near Mint",
    "lightly_played": "Lightly Played",
    "moderately_played": "Moderately Played",
    "heavily_played": "Heavily Played",
    "damaged": "Damaged",
}
PORTFOLIO = "pokecard"


def _generic(it: Item, today: str) -> dict[str, Any]:
    return {k: getattr(it, k) for k in GENERIC_FIELDS}


def _tcgplayer(it: Item, today: str) -> dict[str, Any]:
    return {
        "Quantity": it.quantity,
        "Name": it.name,
        "Simple Name": it.name,
        "Set": it.set_name,
        "Card Number": it.number,
        "Set Code": it.set_code,
        "Printing": PRINTING[it.finish],
        "Condition": CONDITION_NAMES[it.condition],
        "Language": it.language,
        "Rarity": it.rarity,
        "Product ID": "",
        "SKU": "",
    }


def _collectr(it: Item, today: str) -> dict[str, Any]:
    return {
        "Portfolio Name": PORTFOLIO,
        "Category": "Pokemon",
        "Set": it.set_name,
        "Product Name": it.name,
        "Card Number": it.number,
        "Rarity": it.rarity,
        "Variance": PRINTING[it.finish],
        "Grade": "Ungraded",
        "Card Condition": CONDITION_NAMES[it.condition],
        "Average Cost Paid": "",
        "Quantity": it.quantity,
        f"Market Price (As of {today})": "",
        "Price Override": "",
        "Watchlist": "false",
        "Date Added": it.added[:10],
        "Notes": "",
    }


@dataclass(frozen=True)
class Format:
    name: str
    fields: tuple[str, ...]
    row: Callable[[Item, str], dict[str, Any]]
    description: str


FORMATS: dict[str, Format] = {
    "generic": Format("generic", GENERIC_FIELDS, _generic, "pokecard's own columns; imports back"),
    "tcgplayer": Format("tcgplayer", TCGPLAYER_FIELDS, _tcgplayer, "TCGplayer collection import"),
    "collectr": Format("collectr", COLLECTR_FIELDS, _collectr, "Collectr portfolio import"),
}


def export_csv(items: list[Item], fmt: str = "generic", today: str | None = None) -> str:
    """The collection as CSV text in one of FORMATS."""
    if fmt not in FORMATS:
        raise CollectionError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    f = FORMATS[fmt]
    today = today or dt.date.today().isoformat()
    fields = [h.format(date=today) for h in f.fields]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for it in items:
        w.writerow(f.row(it, today))
    return buf.getvalue()


@dataclass
class ImportReport:
    lines: int = 0
    set: int = 0  # lines written (created or set to the file's quantity)

    def as_dict(self) -> dict[str, int]:
        return {"lines": self.lines, "set": self.set}


def parse_generic(text: str, name: str = "<csv>") -> list[dict[str, Any]]:
    """Rows of a generic CSV, checked; the first bad row is named with its line number."""
    rd = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [k for k in ("card_id", "name", "quantity") if k not in (rd.fieldnames or [])]
    if missing:
        raise CollectionError(
            f"{name}: not a pokecard collection CSV (missing column(s) {', '.join(missing)}; "
            f"expected {','.join(GENERIC_FIELDS)})"
        )
    rows = []
    for i, r in enumerate(rd, start=2):
        where = f"{name} line {i}"
        if not (r.get("card_id") or "").strip():
            raise CollectionError(f"{where}: card_id is empty")
        try:
            q = int((r.get("quantity") or "").strip())
        except ValueError:
            raise CollectionError(f"{where}: quantity {r.get('quantity')!r} is not a whole number") from None
        if q < 0:
            raise CollectionError(f"{where}: quantity {q} is negative")
        finish = (r.get("finish") or "normal").strip()
        cond = (r.get("condition") or "near_mint").strip()
        if finish not in FINISHES:
            raise CollectionError(f"{where}: finish {finish!r} is not one of {', '.join(FINISHES)}")
        if cond not in CONDITIONS:
            raise CollectionError(f"{where}: condition {cond!r} is not one of {', '.join(CONDITIONS)}")
        rows.append(
            {
                "card": {
                    k: (r.get(k) or "").strip()
                    for k in ("card_id", "name", "set_code", "set_name", "number", "rarity")
                },
                "quantity": q,
                "finish": finish,
                "condition": cond,
                "language": (r.get("language") or DEFAULT_LANGUAGE).strip(),
                "added": (r.get("added") or "").strip() or None,
            }
        )
    return rows


def import_csv(db: CollectionDB, text: str, name: str = "<csv>") -> ImportReport:
    """Import our own CSV: each line sets its (card, finish, condition, language) to the file's
    quantity, so importing the same file again changes nothing. The whole file is checked first."""
    rows = parse_generic(text, name)
    return ImportReport(lines=len(rows), set=db.set_lines(rows))
