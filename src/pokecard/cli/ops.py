"""`pokecard verify|migrate|restore|costs|registry`: data operations on the project store."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    pass
