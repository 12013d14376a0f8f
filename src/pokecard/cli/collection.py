"""`pokecard collection list|export|import|corrections`: the web app's database from the terminal."""

from __future__ import annotations

from pathlib import Path

import typer

from pokecard.cli.common import JSON_OPT, ROOT_OPT, console, emit_json, group


def _db(root: str | None):  # noqa: ANN202 - the collection module is imported lazily
    from pokecard.collection import CollectionDB
    from pokecard.config import load_settings

    return CollectionDB.open(root or load_settings().root)


def register(app: typer.Typer) -> None:
    col = group(
        app, "collection", "The collection (SQLite under the root): list, export, import, corrections."
    )

    @col.command("list")
    def list_cmd(root: str = ROOT_OPT, as_json: bool = JSON_OPT) -> None:
        """The collection, one line per card + finish + condition + language, and totals per set."""
        with _db(root) as db:
            items, totals = db.items(), db.totals()
        if as_json:
            emit_json({"items": [i.as_dict() for i in items], "totals": totals})
            return
        from rich.table import Table

        t = Table(title="collection")
        for h in ("qty", "card", "set", "number", "finish", "condition", "language", "added"):
            t.add_column(h)
        for i in items:
            t.add_row(
                str(i.quantity), i.name, i.set_code, i.number, i.finish, i.condition, i.language, i.added
            )
        con = console()
        con.print(t)
        for s in totals:
            con.print(f"{s['set_code']} {s['set_name']}: {s['cards']} card(s), {s['copies']} cop(ies)")

    @col.command("export")
    def export_cmd(
        root: str = ROOT_OPT,
        fmt: str = typer.Option("generic", "--format", help="generic | tcgplayer | collectr"),
        out: Path = typer.Option(None, "--out", help="Write the CSV here (atomically) instead of stdout."),
    ) -> None:
        """The collection as CSV (docs/app.md describes each format)."""
        from pokecard import atomic
        from pokecard.collection.formats import export_csv

        with _db(root) as db:
            text = export_csv(db.items(), fmt)
        if out is None:
            typer.echo(text, nl=False)
        else:
            atomic.write_text(out, text)
            typer.echo(f"{out}: {text.count(chr(10)) - 1} line(s) ({fmt})", err=True)

    @col.command("import")
    def import_cmd(
        csv_file: Path = typer.Argument(..., help="A CSV written by `pokecard collection export` (generic)."),
        root: str = ROOT_OPT,
        as_json: bool = JSON_OPT,
    ) -> None:
        """Import our own CSV: each line sets its quantity, so importing twice changes nothing."""
        from pokecard.collection.formats import import_csv
        from pokecard.errors import CollectionError

        try:
            text = csv_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise CollectionError(f"{csv_file}: cannot read ({e})") from e
        with _db(root) as db:
            rep = import_csv(db, text, str(csv_file))
        if as_json:
            emit_json(rep.as_dict())
        else:
            typer.echo(f"{csv_file}: {rep.set} line(s) imported")

    @col.command("corrections")
    def corrections_cmd(root: str = ROOT_OPT, as_json: bool = JSON_OPT) -> None:
        """Fixes made in the app: photo sha256, what the recognizer said, the card chosen."""
        with _db(root) as db:
            rows = db.corrections()
        if as_json:
            for r in rows:
                emit_json(r)
            return
        for r in rows:
            typer.echo(
                f"{r['sha256'][:12]} {r['file']}: {r['recognized'] or r['recognized_status']} -> {r['corrected']}"
            )
