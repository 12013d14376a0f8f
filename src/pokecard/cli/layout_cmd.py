"""`pokecard layout`: print the storage layout."""

from __future__ import annotations

import typer

from pokecard.cli.common import JSON_OPT, ROOT_OPT, console, emit_json


def register(app: typer.Typer) -> None:
    @app.command("layout")
    def layout_command(root: str = ROOT_OPT, as_json: bool = JSON_OPT) -> None:
        """Print every key of the storage layout and where the project root is."""
        from pokecard import layout
        from pokecard.config import load_settings

        s = load_settings()
        where = s.resolve_root(root)
        rows = [{"key": e.key, "description": e.description} for e in layout.describe()]
        if as_json:
            emit_json({"root": where, "s3_root": s.s3_root, "keys": rows})
            return
        from rich.table import Table

        t = Table(title=f"pokecard storage layout  (root: {where})")
        t.add_column("key", style="bold")
        t.add_column("what")
        for r in rows:
            t.add_row(r["key"], r["description"])
        console().print(t)
        console().print(f"S3 root: {s.s3_root}")
