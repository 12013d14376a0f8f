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
    from pokecard.cli import bench, catalog, edge, layout_cmd, models, recognize, store

    layout_cmd.register(app)
    store.register(app)
    bench.register(app)  # before the modules that add their benchmarks to its group
    catalog.register(app)
    models.register(app)
    edge.register(app)  # adds `export hef` to the export group
    recognize.register(app)


_register()


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (what tests call)."""
    try:
        rv = app(args=list(argv) if argv is not None else None, prog_name="pokecard", standalone_mode=False)
    except PokecardError as e:
        typer.echo(f"error: {e}", err=True)
        return e.exit_code
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.exceptions.Abort:
        typer.echo("aborted", err=True)
        return 130
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    return rv if isinstance(rv, int) else 0


def main() -> None:
    sys.exit(run())
