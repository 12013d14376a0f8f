"""`pokecard store ls|push|pull|sync|verify|rm`: the artifact store."""

from __future__ import annotations

from pathlib import Path

import typer

from pokecard.cli.common import JSON_OPT, ROOT_OPT, console, emit_json, json_mode

store_app = typer.Typer(
    help="The artifact store (local folder or S3), with sha256 checks.", no_args_is_help=True
)


def _open(root: str | None):  # noqa: ANN202
    from pokecard.store import open_store

    return open_store(root)


def _print_plan(plan, as_json: bool, verb: str) -> None:  # noqa: ANN001
    if as_json:
        emit_json(plan.as_dict())
        return
    c = console()
    state = "done" if plan.applied else "dry run (add --apply to do it)"
    c.print(
        f"{verb} {plan.source} -> {plan.destination}: {len(plan.copy)} to copy, "
        f"{len(plan.unchanged)} unchanged, {len(plan.delete)} to delete [{state}]"
    )
    for k in plan.copy:
        c.print(f"  copy   {k}", highlight=False)
    for k in plan.delete:
        c.print(f"  delete {k}", highlight=False)


@store_app.command("ls")
def ls(
    prefix: str = typer.Argument("", help="Key prefix, e.g. data/reference"),
    root: str = ROOT_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """List objects under a prefix."""
    st = _open(root)
    objs = st.list(prefix)
    if as_json:
        emit_json(
            [{"key": o.key, "size": o.size, "sha256": (st.recorded(o.key) or {}).get("sha256")} for o in objs]
        )
        return
    for o in objs:
        console().print(f"{o.size:>12,}  {o.key}", highlight=False)
    console().print(f"{len(objs)} object(s) in {st.url}{prefix}")


@store_app.command("push")
def push(
    src: Path = typer.Argument(..., help="Local folder to upload"),
    prefix: str = typer.Argument(
        ..., help="Destination key prefix inside the layout, e.g. data/raw/card_images"
    ),
    root: str = ROOT_OPT,
    force: bool = typer.Option(False, "--force", help="Allow a prefix outside the layout."),
    as_json: bool = JSON_OPT,
) -> None:
    """Upload a folder (changed files only) and record their checksums."""
    json_mode(as_json)
    _print_plan(_open(root).push(src, prefix, force=force), as_json, "push")


@store_app.command("pull")
def pull(
    prefix: str = typer.Argument(..., help="Key prefix to download"),
    dest: Path = typer.Argument(..., help="Local folder"),
    root: str = ROOT_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Download a prefix, verifying every file against its recorded sha256."""
    json_mode(as_json)
    _print_plan(_open(root).pull(prefix, dest), as_json, "pull")


@store_app.command("sync")
def sync(
    src: str = typer.Argument(..., help="Local folder (upload) or key prefix (download with --down)"),
    dst: str = typer.Argument(..., help="Key prefix (upload) or local folder (--down)"),
    down: bool = typer.Option(False, "--down", help="Store -> local folder instead of local -> store."),
    apply: bool = typer.Option(False, "--apply", help="Do it. Without this, only show the plan."),
    delete: bool = typer.Option(False, "--delete", help="Also delete what is not in the source."),
    root: str = ROOT_OPT,
    force: bool = typer.Option(False, "--force"),
    as_json: bool = JSON_OPT,
) -> None:
    """Mirror a folder and a prefix. A dry run unless --apply; never deletes without --delete."""
    json_mode(as_json)
    st = _open(root)
    plan = (
        st.sync_down(src, Path(dst), apply=apply, delete=delete)
        if down
        else st.sync_up(Path(src), dst, apply=apply, delete=delete, force=force)
    )
    _print_plan(plan, as_json, "sync")


@store_app.command("verify")
def verify(
    prefix: str = typer.Argument("", help="Only keys under this prefix"),
    root: str = ROOT_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Re-read every recorded object and compare its sha256 with the manifest."""
    json_mode(as_json)
    rep = _open(root).verify(prefix)
    if as_json:
        emit_json(rep.as_dict())
    else:
        c = console()
        c.print(
            f"{len(rep.ok)} ok, {len(rep.mismatched)} mismatched, {len(rep.missing)} missing, "
            f"{len(rep.unrecorded)} unrecorded"
        )
        for k in rep.mismatched:
            c.print(f"  MISMATCH {k}", highlight=False)
        for k in rep.missing:
            c.print(f"  MISSING  {k}", highlight=False)
    if not rep.passed:
        raise typer.Exit(1)


@store_app.command("rm")
def rm(
    key: str = typer.Argument(...),
    root: str = ROOT_OPT,
    apply: bool = typer.Option(False, "--apply", help="Really delete (default: dry run)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Delete one object (dry run unless --apply)."""
    st = _open(root)
    st.delete(key, dry_run=not apply)
    if as_json:
        emit_json({"key": key, "deleted": apply})
    else:
        console().print(
            f"{'deleted' if apply else 'would delete (add --apply)'} {st.url}{key}", highlight=False
        )


def register(app: typer.Typer) -> None:
    app.add_typer(store_app, name="store")
