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


def restore_cmd(
    prefix: str = typer.Argument("", help="Only this key prefix [default: the whole layout]"),
    at: str = typer.Option(..., "--at", help="Point in time: ISO 8601 (2026-11-30T12:00:00Z) or -2h / -1d."),
    root: str = typer.Option("s3", "--root", help="Project root in a versioned bucket (s3:// or 's3')."),
    apply: bool = typer.Option(False, "--apply", help="Restore for real (default: dry run)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Restore objects to their versions at a point in time (dry run by default)."""
    from pokecard.aws.restore import parse_time, restore

    json_mode(as_json)
    res = restore(_store(root), parse_time(at), prefix, apply=apply)
    if as_json:
        emit_json(res.as_dict())
        return
    c = console()
    for k in res.restore:
        c.print(f"  restore {k}", highlight=False)
    for k in res.delete:
        c.print(f"  delete  {k}", highlight=False)
    state = f"done, {res.verified} verified" if apply else "dry run (add --apply to do it)"
    c.print(
        f"restore to {res.at}: {len(res.restore)} to restore, {len(res.delete)} to delete, {res.unchanged} unchanged [{state}]"
    )


def costs_cmd(
    root: str = typer.Option("s3", "--root", help="Project root [default: the configured bucket]."),
    jobs: bool = typer.Option(True, "--jobs/--no-jobs", help="Add the training cost from `pokecard jobs`."),
    as_json: bool = JSON_OPT,
) -> None:
    """Storage cost per component and class, lifecycle saving, training cost; writes the analytics files."""
    from pokecard.aws import costs

    json_mode(as_json)
    st = _store(root)
    rep = costs.report(st, with_jobs=jobs)
    written = costs.write(st, rep)
    if as_json:
        emit_json({**rep.as_dict(), "written": written})
        return
    c = console()
    c.print(f"{'component':<32} {'class':<12} {'objects':>9} {'GB':>9} {'$/month':>9} {'$/year':>9}")
    for ln in rep.lines:
        c.print(
            f"{ln.component:<32} {ln.storage_class:<12} {ln.objects:>9,} {ln.bytes / costs.GB:>9.2f} "
            f"{ln.monthly_usd:>9.2f} {ln.annual_usd:>9.2f}",
            highlight=False,
        )
    d = rep.as_dict()
    c.print(
        f"total {d['total_gb']:.2f} GB: ${d['monthly_usd']:.2f}/month, ${d['annual_usd']:.2f}/year (prices of {rep.price_date})"
    )
    for r in rep.lifecycle:
        c.print(
            f"lifecycle {r['rule']}: {r['prefix']} -> {r['storage_class']} after {r['days']} d saves ${r['saving_monthly_usd']:.2f}/month"
        )
    if rep.training_usd is not None:
        c.print(f"training: ${rep.training_usd:.2f} over {rep.training_jobs} job(s)")
    for n in rep.notes:
        c.print(f"note: {n}", highlight=False)
    for w in written:
        c.print(f"written: {w}", highlight=False)


registry_app = typer.Typer(
    help="Model registry (SageMaker model packages) and model lineage.", no_args_is_help=True
)


@registry_app.command("register")
def registry_register(
    root: str = ROOT_OPT,
    version: str = typer.Option("v1", "--version", help="Model version in the layout."),
    as_json: bool = JSON_OPT,
) -> None:
    """Register teacher, student, ONNX and HEF (when present) as PendingManualApproval packages."""
    from pokecard.aws import registry

    nodes = registry.register(_store(root), version)
    if as_json:
        emit_json([vars(n) for n in nodes])
        return
    for n in nodes:
        console().print(
            f"{n.kind:<8} {n.key}  sha256 {n.sha256[:12]}  -> {n.model_package_arn}", highlight=False
        )


@registry_app.command("list")
def registry_list(root: str = ROOT_OPT, as_json: bool = JSON_OPT) -> None:
    """Versions in the model package group with status and key metrics."""
    from pokecard.aws import registry

    rows = registry.list_packages(_store(root))
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        metrics = " ".join(f"{k}={v}" for k, v in list(r["metrics"].items())[:4])
        console().print(
            f"{r['version']:>3} {r['status']:<22} {r['kind']:<8} {r['architecture']:<24} {r['sha256'][:12]} {metrics}",
            highlight=False,
        )


def _decide(action: str, package: str, reason: str, as_json: bool) -> None:
    from pokecard.aws import registry

    r = registry.decide(package, action, reason)
    if as_json:
        emit_json(r)
    else:
        console().print(f"{r['arn']}: {r['status']} ({r['reason']})", highlight=False)


@registry_app.command("approve")
def registry_approve(
    package: str = typer.Argument(..., help="Package ARN or version number in the group"),
    reason: str = typer.Option(..., "--reason", help="Why (kept as ApprovalDescription)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Approve a model package."""
    _decide("approve", package, reason, as_json)


@registry_app.command("reject")
def registry_reject(
    package: str = typer.Argument(..., help="Package ARN or version number in the group"),
    reason: str = typer.Option(..., "--reason", help="Why (kept as ApprovalDescription)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Reject a model package."""
    _decide("reject", package, reason, as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(registry_app, name="registry")
    app.command("restore")(restore_cmd)
    app.command("costs")(costs_cmd)
    app.command("verify")(verify_cmd)
    app.command("migrate")(migrate_cmd)
