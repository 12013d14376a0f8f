"""The collection's SQLite file: opening it, its migrations, and the one write transaction.

WAL journal with synchronous=FULL so a row is on disk before the call that wrote it returns
(a killed server loses nothing it acknowledged). The schema (pokecard.collection.schema) is
a list of migrations applied in order; ``PRAGMA user_version`` records how many ran. Every
write is one ``BEGIN IMMEDIATE`` transaction under one lock, so the web app's threads and
the CLI can share the file.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from pokecard.collection.schema import MIGRATIONS, SCHEMA_VERSION
from pokecard.errors import CollectionError


class MissingRow(CollectionError):
    """A scan or item id that is not in the collection."""


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class SQLiteFile:
    """An open collection file, migrated to this pokecard's schema; tables build on it."""

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

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def __enter__(self) -> Self:
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
