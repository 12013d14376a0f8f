"""The collector's collection: a SQLite database under the project root (db) and its CSV
formats (formats). Only ``CollectionDB`` (:mod:`pokecard.collection.db`, built from sqlite,
items and scans) writes the database."""

from pokecard.collection.db import CONDITIONS, FINISHES, CollectionDB, Item, db_path

__all__ = ["CONDITIONS", "FINISHES", "CollectionDB", "Item", "db_path"]
