"""Options and output helpers shared by the CLI modules."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer

JSON_OPT = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")
ROOT_OPT = typer.Option(
    None,
    "--root",
    help="Project root: a folder, s3://bucket/prefix, or 's3' for the configured bucket "
    "[default: $POKECARD_ROOT or work/root].",
)


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, default=str, sort_keys=True) + "\n")
    sys.stdout.flush()


def json_mode(as_json: bool) -> None:
    """Machines get clean stdout: no progress bars when --json."""
    if as_json:
        from pokecard import progress

        progress.set_enabled(False)


def console():  # noqa: ANN201 - rich is imported lazily
    from rich.console import Console

    return Console()


def group(app: typer.Typer, name: str, help: str) -> typer.Typer:
    """The sub-app ``name`` (e.g. bench, export), shared by the modules that add commands to it:
    found if another module registered it first, else created."""
    for g in app.registered_groups:
        if g.name == name and g.typer_instance is not None:
            return g.typer_instance
    sub = typer.Typer(help=help, no_args_is_help=True)
    app.add_typer(sub, name=name)
    return sub
