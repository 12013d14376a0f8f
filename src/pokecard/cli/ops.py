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


def migrate_cmd(
    plan: Path = typer.Argument(..., help="Migration plan YAML (see examples/migration/)"),
    root: str = typer.Option("s3", "--root", help="Destination project root (s3:// or 's3')."),
    apply: bool = typer.Option(False, "--apply", help="Copy for real (default: dry run)."),
    delete_source: bool = typer.Option(
        False, "--delete-source", help="Delete each source once the whole plan verified."
    ),
    workers: int = typer.Option(None, "--workers", help="Parallel copies [default: the plan's]."),
    state_dir: Path = typer.Option(
        Path(".pokecard/migrate"), "--state-dir", help="Where the resume journal lives."
    ),
    as_json: bool = JSON_OPT,
) -> None:
    """Copy source prefixes into the layout: server-side, parallel, verified, resumable."""
    from pokecard.aws.migrate import load_plan, migrate

    json_mode(as_json)
    st = _store(root)
    p = load_plan(plan, getattr(st, "bucket", ""), getattr(st, "prefix", ""))
    res = migrate(p, st, apply=apply, delete_source=delete_source, state_dir=state_dir, workers=workers)
    if as_json:
        emit_json(res.as_dict())
        return
    c = console()
    state = "done" if apply else "dry run (add --apply to do it)"
    c.print(
        f"migrate {plan} -> {st.url}: {len(res.copy):,} to copy ({res.copy_bytes:,} bytes), "
        f"{len(res.skip):,} already verified ({res.skip_bytes:,} bytes), "
        f"{len(res.delete):,} source(s) to delete [{state}]",
        highlight=False,
    )
    if apply:
        c.print(
            f"copied and verified {res.copied:,}; deleted {res.deleted:,}; journal {res.journal}",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    app.command("verify")(verify_cmd)
    app.command("migrate")(migrate_cmd)
