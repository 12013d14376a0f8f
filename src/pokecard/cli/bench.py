"""`pokecard bench ...`: the benchmark group. Each concern adds its own command to
``bench_app`` (photo, recognizer, training); ``bench all`` runs them in turn, which is what
``make bench`` does. ``bench scale`` is registered here and is not in ``bench all``: a full
run builds reference DBs of up to 17,592 cards (tens of minutes)."""

from __future__ import annotations

from pathlib import Path

import typer

from pokecard.cli.common import JSON_OPT, emit_json, json_mode

bench_app = typer.Typer(
    help="Benchmarks: reports/*.json and the tables in docs/benchmarks.md.", no_args_is_help=True
)

# The order `bench all` runs them in: cheapest first, so a failure shows early. Not `scale`:
# it takes tens of minutes and is run on its own.
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


def _sizes(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    try:
        sizes = tuple(int(x.replace("_", "")) for x in text.split(",") if x.strip())
    except ValueError:
        raise typer.BadParameter(f"{text!r}: give card counts separated by commas, e.g. 300,1000") from None
    if not sizes or min(sizes) < 2:
        raise typer.BadParameter(f"{text!r}: every size must be at least 2 cards")
    return sizes


@bench_app.command("scale")
def bench_scale(  # noqa: PLR0913 - one argument per option
    quick: bool = typer.Option(False, "--quick", help="Sizes 2,000 and 17,592 only, 40 photos each."),
    sizes: str = typer.Option(
        None, "--sizes", help="Generated catalogue sizes, comma-separated [default: 2000,5000,17592]."
    ),
    photos: int = typer.Option(
        None, "--photos", min=1, help="Held-out photos per size [default: 100; 40 with --quick]."
    ),
    work: Path = typer.Option(
        Path("work/bench-scale"), "--work", help="Cache of generated catalogues, roots and photos."
    ),
    fresh: bool = typer.Option(False, "--fresh", help="Regenerate and rebuild everything in --work."),
    model: str = typer.Option(
        "models/temporal-forces-student/student_stage2_final_int8.onnx",
        "--model",
        help="Student ONNX of the embedding mode.",
    ),
    modes: str = typer.Option(
        "training-free,embedding", "--modes", help="Comma-separated: training-free, embedding."
    ),
    no_real: bool = typer.Option(False, "--no-real", help="Leave out the 218 real cards."),
    vectors: int = typer.Option(
        100_000,
        "--vectors",
        min=0,
        help="Also measure the embedding path at this many cards: the largest generated "
        "catalogue's embeddings plus synthetic vectors (0: skip).",
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Reference DB and recognizer from 218 to 17,592 cards; not in `bench all` (tens of minutes).

    The 218 real cards and generated catalogues, training-free and with the student: build
    time per stage and peak memory, DB size, load time and memory, top-1, accepted, unknowns,
    p50/p95, against issue 17's targets. Writes reports/bench_scale.json, docs/img/scale.png
    and the "scale" block of docs/benchmarks.md."""
    from pokecard.bench import scale
    from pokecard.bench.recognizer import common

    json_mode(as_json)
    picked = tuple(m.strip() for m in modes.split(",") if m.strip())
    args = [f"--sizes {sizes}"] if sizes else []
    args += [f"--photos {photos}"] if photos else []
    args += [f"--modes {modes}"] if picked != ("training-free", "embedding") else []
    args += [f"--vectors {vectors}"] if vectors != 100_000 else []
    cmd = " ".join(
        ["pokecard bench scale", *(["--quick"] if quick else []), *args, *(["--no-real"] if no_real else [])]
    )
    res = scale.main(
        quick=quick,
        sizes=_sizes(sizes),
        photos=photos,
        work=work,
        fresh=fresh,
        model=model,
        modes=picked,
        real=None if no_real else common.TEF,
        cmd=cmd,
        vectors=vectors,
    )
    if as_json:
        emit_json(res)
    else:
        typer.echo(f"{res['report']}; table in docs/benchmarks.md; plot {res['plot']}", err=True)


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")
