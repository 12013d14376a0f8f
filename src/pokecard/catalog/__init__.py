"""The card catalogue: records, input formats, validated builds into the layout, a demo generator.

numpy + opencv + pillow only (no torch), so the Pi and the recognizer can import it.
"""

from __future__ import annotations

from pokecard.catalog.build import (
    BadCard,
    BuildReport,
    build_catalog,
    canonical_crop,
    card_shape_problem,
    load_processed,
)
from pokecard.catalog.model import Card, Catalog, load_catalog, read_image
from pokecard.catalog.synth import synth_catalog
from pokecard.errors import CatalogError

__all__ = [
    "BadCard",
    "BuildReport",
    "Card",
    "Catalog",
    "CatalogError",
    "build_catalog",
    "canonical_crop",
    "card_shape_problem",
    "load_catalog",
    "load_processed",
    "read_image",
    "synth_catalog",
]
