"""The collection database: ``CollectionDB``, the one class that writes it.

SQLite under the project root (``layout.COLLECTION_DB``). CollectionDB is built from one
module per part: the file, its migrations and transactions (pokecard.collection.sqlite),
the items (pokecard.collection.items), the scans and corrections (pokecard.collection.scans).
"""

from __future__ import annotations

import os
from pathlib import Path

from pokecard import layout
from pokecard.collection.items import CONDITIONS, DEFAULT_LANGUAGE, FINISHES, Item
from pokecard.collection.scans import Scans
from pokecard.collection.schema import SCHEMA_VERSION
from pokecard.collection.sqlite import MissingRow, now
from pokecard.errors import CollectionError
from pokecard.store import LocalStore, Store, open_store

__all__ = [
    "CONDITIONS",
    "DEFAULT_LANGUAGE",
    "FINISHES",
    "SCHEMA_VERSION",
    "CollectionDB",
    "Item",
    "MissingRow",
    "db_path",
    "now",
]


def db_path(root_or_store: Store | str | os.PathLike[str]) -> Path:
    """The collection file under a local project root (SQLite needs a local file)."""
    st = open_store(root_or_store)
    if not isinstance(st, LocalStore):
        raise CollectionError(
            f"{st.url}: the collection database needs a local project root (SQLite cannot live in S3); "
            "use a local --root"
        )
    return st.path(layout.COLLECTION_DB)


class CollectionDB(Scans):
    """The collection: items (grouped by card), scans (one per recognized photo) and corrections."""

    @classmethod
    def open(cls, root_or_store: Store | str | os.PathLike[str]) -> CollectionDB:
        return cls(db_path(root_or_store))
