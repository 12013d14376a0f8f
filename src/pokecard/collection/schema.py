"""The collection database's schema, as migrations applied in order (``PRAGMA user_version``
counts how many ran). Only :mod:`pokecard.collection.sqlite` applies them."""

from __future__ import annotations

# Each entry moves the schema one version on; never edit one that has shipped, append.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE cards (
        card_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        set_code TEXT NOT NULL DEFAULT '',
        set_name TEXT NOT NULL DEFAULT '',
        number TEXT NOT NULL DEFAULT '',
        rarity TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        card_id TEXT NOT NULL REFERENCES cards(card_id),
        finish TEXT NOT NULL DEFAULT 'normal',
        condition TEXT NOT NULL DEFAULT 'near_mint',
        language TEXT NOT NULL DEFAULT 'English',
        quantity INTEGER NOT NULL CHECK (quantity >= 0),
        added TEXT NOT NULL,
        updated TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 1,
        deleted TEXT,
        UNIQUE (card_id, finish, condition, language)
    );
    CREATE TABLE scans (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL,
        file TEXT NOT NULL,
        source TEXT NOT NULL,
        status TEXT NOT NULL,
        card_id TEXT,
        score REAL,
        result TEXT NOT NULL,
        item_id INTEGER REFERENCES items(id),
        created TEXT NOT NULL
    );
    CREATE INDEX scans_sha ON scans(sha256);
    CREATE TABLE corrections (
        id INTEGER PRIMARY KEY,
        scan_id INTEGER NOT NULL REFERENCES scans(id),
        sha256 TEXT NOT NULL,
        recognized TEXT,
        recognized_status TEXT NOT NULL,
        score REAL,
        corrected TEXT NOT NULL,
        created TEXT NOT NULL
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
