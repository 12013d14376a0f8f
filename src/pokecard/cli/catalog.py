"""`pokecard catalog build|synth`, `pokecard photos` and `pokecard bench photo`."""

from __future__ import annotations

from pathlib import Path

import typer

from pokecard.cli.common import JSON_OPT, ROOT_OPT, console, emit_json, group, json_mode

catalog_app = typer.Typer(
    help="The card catalogue: build it into the layout, or generate a demo one.", no_args_is_help=True
)


@catalog_app.command("build")
def build(
    source: Path = typer.Option(
        ..., "--source", help="Catalogue folder: metadata.json + images, or pokemon-tcg-data"
    ),
    root: str = ROOT_OPT,
    skip_bad: bool = typer.Option(False, "--skip-bad", help="Report and skip bad cards instead of stopping"),
    as_json: bool = JSON_OPT,
) -> None:
    """Validate a catalogue and write raw images, metadata and canonical crops (incremental)."""
    json_mode(as_json)
    from pokecard.catalog import build_catalog

    rep = build_catalog(source, root, skip_bad=skip_bad)
    if as_json:
        emit_json(rep.as_dict())
        return
    c = console()
    c.print(
        f"catalogue {rep.catalog}: {rep.cards} card(s) -> {rep.root}: {len(rep.processed)} processed, "
        f"{len(rep.unchanged)} unchanged, {len(rep.skipped)} skipped, {len(rep.removed)} dropped from the index",
        highlight=False,
    )
    for b in rep.skipped:
        c.print(f"  skipped {b}", highlight=False)


@catalog_app.command("synth")
def synth(
    cards: int = typer.Option(200, "--cards", help="How many cards to generate"),
    out: Path = typer.Option(..., "--out", help="Output folder (images/ + metadata.json)"),
    seed: int = typer.Option(0, "--seed", help="Seed: the same seed gives the same catalogue"),
    workers: int | None = typer.Option(
        None,
        "--workers",
        help="Processes that draw the cards; 1 draws in this process. Same bytes for any value "
        "[default: one per CPU]",
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Generate a deterministic demo catalogue of card-like images."""
    json_mode(as_json)
    from pokecard.catalog import synth_catalog

    cat = synth_catalog(cards, out, seed=seed, workers=workers)
    if as_json:
        emit_json({"catalog": cat.name, "root": str(cat.root), "cards": len(cat.cards)})
        return
    console().print(f"generated {len(cat.cards)} cards in {cat.root}", highlight=False)


@catalog_app.command("sheet")
def sheet(
    catalog: list[Path] = typer.Option(..., "--catalog", help="Catalogue folder (repeat for several)"),
    out: Path = typer.Option(Path("docs/contact_sheet.png"), "--out", help="PNG to write"),
    seed: int = typer.Option(0, "--seed", help="Which cards and photos"),
    as_json: bool = JSON_OPT,
) -> None:
    """A contact sheet of simulated scene photos and training crops (what training sees)."""
    json_mode(as_json)
    from pokecard.catalog import load_catalog
    from pokecard.photo.sheet import contact_sheet

    path = contact_sheet([load_catalog(c) for c in catalog], out, seed=seed)
    if as_json:
        emit_json({"sheet": str(path), "bytes": path.stat().st_size})
        return
    console().print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)", highlight=False)


def photos(
    catalog: Path | None = typer.Option(
        None,
        "--catalog",
        help="Catalogue folder (metadata.json or pokemon-tcg-data) [default: the catalogue built in --root]",
    ),
    per_card: int = typer.Option(1, "--per-card", help="Photos per card"),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Output folder (photos + labels.json) [default: the root's data/processed/eval_photos/"
        "<preset>-<kind>-seed<S>/]",
    ),
    root: str = ROOT_OPT,
    seed: int = typer.Option(
        0, "--seed", help="Batch seed (0-65535); batches with different seeds never overlap"
    ),
    kind: str = typer.Option(
        "scene", "--kind", help="scene (full photo + corners) or crop (rectified 352x252)"
    ),
    preset: str = typer.Option("eval", "--preset", help="Effects preset: none, train, eval or hard"),
    split: str = typer.Option(
        "eval", "--split", help="Seed range: eval (held out, never used in training) or train"
    ),
    workers: int = typer.Option(2, "--workers", help="Worker processes"),
    as_json: bool = JSON_OPT,
) -> None:
    """Write simulated photos of every card + labels.json (file -> card_id, corners)."""
    json_mode(as_json)
    import tempfile

    from pokecard import layout
    from pokecard.catalog import load_catalog, load_processed
    from pokecard.errors import ConfigError
    from pokecard.photo import PhotoConfig, write_photos
    from pokecard.photo.write import check_request

    check_request(kind, split, per_card)
    if not 0 <= seed < 65536:
        raise ConfigError(f"--seed must be in 0..65535, got {seed}")
    if out is None and split != "eval":
        raise ConfigError(
            "--split train photos do not belong in the held-out eval_photos folder: give --out DIR"
        )
    try:
        cfg = PhotoConfig.preset(preset)
    except ValueError as e:
        raise ConfigError(f"--preset: {e}") from e
    store = None
    if catalog is None or out is None:
        from pokecard.store import open_store

        store = open_store(root)
    cat = load_catalog(catalog) if catalog is not None else load_processed(store)
    n = per_card * len(cat.cards)
    if out is not None:
        labels = write_photos(cat, per_card, out, seed, cfg, kind=kind, split=split, workers=workers)
        where = str(labels)
    else:
        key = layout.eval_photos_dir(f"{preset}-{kind}-seed{seed}")
        with tempfile.TemporaryDirectory(prefix="pokecard-photos-") as tmp:
            write_photos(cat, per_card, tmp, seed, cfg, kind=kind, split=split, workers=workers)
            store.push(tmp, key)
        where = f"{store.url}{key}/labels.json"
    if as_json:
        emit_json({"labels": where, "photos": n, "kind": kind, "preset": preset, "split": split})
        return
    console().print(
        f"wrote {n} {kind} photo(s) ({preset} preset, {split} seeds) and {where}", highlight=False
    )


def bench_photo(
    quick: bool = typer.Option(False, "--quick", help="Fewer photos (a smoke run)"),
    as_json: bool = JSON_OPT,
) -> None:
    """Photos/second of the simulator (scene and crop kinds) on this machine."""
    json_mode(as_json)
    from pokecard.bench import photo as bench

    result = bench.main(quick=quick)
    if as_json:
        emit_json(result)
        return
    console().print(bench.markdown(result), highlight=False)


def register(app: typer.Typer) -> None:
    """Register this module's commands on the main app."""
    app.add_typer(catalog_app, name="catalog")
    app.command("photos")(photos)
    group(app, "bench", "Benchmarks: reports/*.json and the tables in docs/benchmarks.md.").command("photo")(
        bench_photo
    )
