"""`pokecard verify|migrate|restore|costs|registry`: data operations on the project store."""

from __future__ import annotations

from pathlib import Path

import typer

from pokecard.cli.common import JSON_OPT, ROOT_OPT, console, emit_json, json_mode


def _store(root: str | None):  # noqa: ANN202
    from pokecard.store import open_store

    return open_store(root)


def verify_cmd(
    prefix: str = typer.Argument("", help="Only this key prefix, e.g. data/raw"),
    root: str = ROOT_OPT,
    deep: bool = typer.Option(
        False, "--deep", help="Re-hash every object (downloads), not only the listing."
    ),
    workers: int = typer.Option(8, "--workers", help="Parallel downloads for --deep."),
    as_json: bool = JSON_OPT,
) -> None:
    """Compare the store with metadata/project_manifest.json; exit 0 only when everything holds."""
    from pokecard.aws.verify import verify, write_lines

    json_mode(as_json)
    res = verify(_store(root), prefix, deep=deep, workers=workers)
    if as_json:
        emit_json(res.as_dict())
    else:
        for line in write_lines(res):
            console().print(line, highlight=False, soft_wrap=True)
    if not res.passed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("verify")(verify_cmd)


__all__ = ["Path", "register"]
