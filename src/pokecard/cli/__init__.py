"""The `pokecard` command: a thin shell over the library.

Each concern registers its commands from its own module in this package; heavy imports
(torch, timm, boto3, sagemaker) happen inside the commands that need them so that
``pokecard --help`` and ``pokecard recognize`` start fast. Every PokecardError becomes one
line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

import click
import typer

from pokecard import __version__
from pokecard.errors import PokecardError

app = typer.Typer(
    name="pokecard",
    help="Recognize Pokemon trading cards from a camera, and own the model life cycle around it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pokecard {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More logging (-vv for debug)."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    from rich.console import Console
    from rich.logging import RichHandler

    # Logs go to stderr: stdout belongs to the command's output (JSON lines with --json).
    handler = RichHandler(console=Console(stderr=True), show_path=False, markup=False)
    logging.basicConfig(level=level, format="%(message)s", handlers=[handler], force=True)


def _register() -> None:
    # Import order is the order in `pokecard --help`.
    from pokecard.cli import (
        bench,
        catalog,
        cloud,
        collection,
        edge,
        layout_cmd,
        models,
        recognize,
        serve,
        store,
    )

    layout_cmd.register(app)
    store.register(app)
    bench.register(app)  # before the modules that add their benchmarks to its group
    catalog.register(app)
    models.register(app)
    edge.register(app)  # adds `export hef` to the export group
    recognize.register(app)
    collection.register(app)
    serve.register(app)
    cloud.register(app)  # sagemaker, jobs, verify, migrate, restore, costs, registry, bench ops


_register()


def _typer_exceptions() -> tuple[tuple[type, ...], tuple[type, ...], tuple[type, ...]]:
    """(usage errors, exits, aborts) of click *and* of the click copy newer typer vendors
    (``typer._click``): its MissingParameter is not a ``click.ClickException``, and a
    missing option must still be one line on stderr, not a traceback."""
    usage: list[type] = [click.ClickException]
    exits: list[type] = [click.exceptions.Exit]
    aborts: list[type] = [click.exceptions.Abort]
    try:
        from typer._click import exceptions as vendored

        usage.append(vendored.ClickException)
    except ImportError:  # older typer: plain click
        pass
    for name, bucket in (("Exit", exits), ("Abort", aborts)):
        cls = getattr(typer, name, None)
        if isinstance(cls, type) and cls not in bucket:
            bucket.append(cls)
    return tuple(usage), tuple(exits), tuple(aborts)


_USAGE, _EXITS, _ABORTS = _typer_exceptions()


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (what tests call)."""
    try:
        rv = app(args=list(argv) if argv is not None else None, prog_name="pokecard", standalone_mode=False)
    except PokecardError as e:
        typer.echo(f"error: {e}", err=True)
        return e.exit_code
    except _EXITS as e:
        return int(getattr(e, "exit_code", 0) or 0)
    except _USAGE as e:
        e.show()
        return int(getattr(e, "exit_code", 2))
    except _ABORTS:
        typer.echo("aborted", err=True)
        return 130
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    return rv if isinstance(rv, int) else 0


def main() -> None:
    sys.exit(run())
