"""`pokecard bench ...`: the benchmark group. Each concern adds its own command to
``bench_app`` (photo, recognizer, training); ``bench all`` runs them in turn, which is what
``make bench`` does."""

from __future__ import annotations

import typer

bench_app = typer.Typer(
    help="Benchmarks: reports/*.json and the tables in docs/benchmarks.md.", no_args_is_help=True
)

# The order `bench all` runs them in: cheapest first, so a failure shows early.
ALL = ("photo", "recognizer", "edge", "serve", "training")


@bench_app.command("all")
def bench_all(
    quick: bool = typer.Option(
        False, "--quick", help="Smaller runs of every benchmark (minutes, not an hour)."
    ),
) -> None:
    """Run every benchmark; each writes reports/bench_<name>.json and its block in docs/benchmarks.md."""
    import subprocess
    import sys

    failed = []
    for name in ALL:
        typer.echo(f"== pokecard bench {name}{' --quick' if quick else ''}", err=True)
        # one process per benchmark: none inherits another's threads, caches or memory
        code = subprocess.call(
            [sys.executable, "-m", "pokecard", "bench", name, *(["--quick"] if quick else [])]
        )
        if code != 0:
            failed.append(name)
    if failed:
        typer.echo(f"error: benchmark(s) failed: {', '.join(failed)}", err=True)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")
